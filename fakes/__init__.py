"""Local servers on 127.0.0.1 that speak each network's real wire format, and the listener
harness built on them: shared by tests/ and bench/, never shipped in the wheel."""
