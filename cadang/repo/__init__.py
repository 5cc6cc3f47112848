"""The storage engine: deduplicated, compressed, encrypted snapshots in a repository.

Vocabulary: a *blob* is a chunk of file content (data) or a directory listing (tree),
named by its keyed BLAKE3 id; blobs are sealed and grouped into *packs*; the *index* says
which pack holds each blob; a *snapshot* names the root tree of one backup. The engine knows
nothing of plans, the server or the command line. docs/FORMAT.md specifies the bytes.
"""
