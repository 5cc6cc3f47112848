"""Storage backends: where a repository's files live.

A backend stores opaque, immutable files by type and name and knows nothing of what they
hold. The engine reaches storage only through :class:`Backend`, so SFTP and S3 drop in
without touching it. Backends never import :mod:`cadang.repo`.
"""

from cadang.backends.base import Backend, FileType, open_backend

__all__ = ["Backend", "FileType", "open_backend"]
