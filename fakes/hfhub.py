"""A local Hugging Face Hub serving one model repository, in the wire format huggingface_hub's
`snapshot_download` reads (https://huggingface.co/docs/hub/api):

- GET  /api/models/{repo}/revision/{rev}  model info: {"id", "sha", "siblings": [{"rfilename"}]}
- GET  /api/models/{repo}/tree/{sha}      files: [{"type": "file", "oid", "size", "path"}]
- HEAD/GET /{repo}/resolve/{sha}/{file}   the file, with X-Repo-Commit and ETag headers
- an unknown repository: 401 with X-Error-Code: RepositoryNotFound, as the Hub answers for
  repositories that do not exist or are private.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fakes.server import FakeServer, Request, Response


class FakeHub:
    def __init__(self, server: FakeServer, repo: str, folder: Path) -> None:
        self.server = server
        self.repo = repo
        self.files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        self.sha = hashlib.sha1(b"".join(self.files.values())).hexdigest()
        self.downloaded: list[str] = []
        server.route("GET", f"/api/models/{repo}/revision/main", self._info)
        server.route("GET", f"/api/models/{repo}/tree/{self.sha}", self._tree)
        for name in self.files:
            path = f"/{repo}/resolve/{self.sha}/{name}"
            server.route("HEAD", path, self._file)
            server.route("GET", path, self._file)
        server.route("GET", "/api/models/nobody/missing/revision/main", self._missing)

    @property
    def endpoint(self) -> str:
        return self.server.url

    def _info(self, _req: Request) -> Response:
        return Response.json(
            {
                "id": self.repo,
                "modelId": self.repo,
                "sha": self.sha,
                "private": False,
                "pipeline_tag": "text-classification",
                "siblings": [{"rfilename": name} for name in self.files],
            }
        )

    def _tree(self, _req: Request) -> Response:
        return Response.json(
            [
                {"type": "file", "oid": _oid(body), "size": len(body), "path": name}
                for name, body in self.files.items()
            ]
        )

    def _file(self, req: Request) -> Response:
        name = req.path.rsplit("/", 1)[1]
        body = self.files[name]
        if req.method == "GET":
            self.downloaded.append(name)
        return Response(
            200,
            body,
            {
                "X-Repo-Commit": self.sha,
                "ETag": f'"{_oid(body)}"',
                "Content-Type": "application/octet-stream",
            },
        )

    def _missing(self, _req: Request) -> Response:
        return Response.json(
            {"error": "Repository not found"},
            status=401,
            headers={"X-Error-Code": "RepositoryNotFound"},
        )


def _oid(body: bytes) -> str:
    """Git's blob id, which the Hub reports for files not stored in LFS."""
    return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()
