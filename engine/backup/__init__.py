"""A device's backup and restore (docs/backup.md): every SQLite file under data_dir
snapshotted through SQLite's online backup API, the config, and the keys only when
the archive is encrypted. The archive format is protocols.backup.archive's, which
central's backup (central/backup.py) shares."""
