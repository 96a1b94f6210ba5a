"""The backup archive's format, shared by a device's and central's backups (docs/backup.md).

Standard library only, like the rest of ``protocols``: the tar stream is handed in
by the caller, which opens files, runs age and takes the database snapshots.
"""
