"""Trained heads shipped with the package (a package so the .npz files go into the wheel)."""
