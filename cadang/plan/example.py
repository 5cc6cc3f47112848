"""The commented example plan that ``cadang plan init`` writes.

It covers every source type and every section of the plan file, with the names of a
typical Indonesian local-government office, and it is valid: a test loads it.
"""

from __future__ import annotations

EXAMPLE_PLAN = """\
# Cadang backup plan (cadang.yaml)
#
# One file describes the office: its repositories, how backups are named and kept, and
# every application with the sources (databases, folders, commands) to back up.
#
#   cadang -c cadang.yaml plan check      check this file and this machine (tools, secrets,
#                                         databases, repositories); every problem at once
#   cadang -c cadang.yaml check-before    the pre-backup checklist (SOP 000); run makes it too
#   cadang -c cadang.yaml run             back up every application (--priority daily, ...)
#   cadang -c cadang.yaml history         list the backups by application and source
#   cadang -c cadang.yaml restore siak    bring an application back (into a new name first)
#   cadang -c cadang.yaml verify          prove the latest backups restorable (restore tests)
#   cadang -c cadang.yaml status          last backup, last verified restore, what is overdue
#
# Messages are in Bahasa Indonesia by default; set CADANG_LANG=en for English.
# The comments in this file are in English.
#
# Secrets never go in this file: give password_file (a file readable only by the user
# cadang runs as: chmod 600) or password_env (the name of an environment variable), or use
# the database tools' own files (~/.pgpass for PostgreSQL, an option file for MariaDB).
# Relative paths are relative to the folder of this file; ~ is your home folder.

organization:
  name: Dinas Kependudukan dan Pencatatan Sipil Kabupaten Buleleng
  code: disdukcapil-bll          # short code used in backup names: a-z 0-9 - _ .

# Where backups go. Create each repository once with: cadang init --repo PATH
# The first one is where applications back up unless they name another.
repositories:
  main:
    path: /srv/cadang/main
    password_file: secrets/main.pass
  external-disk:                 # the external hard disk of SOP 001 (kept in the safe, SOP 004)
    path: /media/cadang-external/cadang
    password_file: secrets/external-disk.pass
    # password_env: CADANG_EXTERNAL_PASSWORD   # instead of password_file

# After each run, the new backups are copied to these repositories when they are present.
# An external disk that is not plugged in is reported, not an error.
copies:
  - external-disk

# Before every run (and with 'cadang -c cadang.yaml check-before') the checks of SOP 000:
# each database answers, ClamAV scans the files about to be backed up, each repository is
# reachable and has room. A failed check is escalated: these people are named with it.
escalation:
  - name: I Made Wirawan, S.Kom.
    role: Kasi                   # Kepala Seksi
    email: made.wirawan@bulelengkab.go.id
    phone: "0812-3456-7890"
  - name: Ketut Sudarma, S.T.
    role: Kabid                  # Kepala Bidang
    email: ketut.sudarma@bulelengkab.go.id

# How the antivirus check reaches ClamAV (Debian packages clamav, clamav-daemon).
antivirus:
  # clamd_socket: /run/clamav/clamd.ctl   # scan through clamd (fast); default: clamscan
  # database: /var/lib/clamav             # clamscan's signature folder; default: ClamAV's own
  max_signature_age_days: 7      # older signatures are a warning (is freshclam running?)

checks:
  storage_margin: 2.0            # want 2x what the last run added free at each repository
  max_latency_ms: 1000           # a repository slower to answer is a warning

# Records of checks and runs. Default: /var/lib/cadang (as root), else ~/.local/state/cadang.
# state_dir: /var/lib/cadang

# How each backup is named (SOP 001 names the .dmp file, SOP 002 names each backup by a
# rule). Fields: {org} {app} {source} {owner} {priority} {time:%Y%m%d-%H%M} (strftime codes).
naming:
  template: "{org}-{app}-{source}-{time:%Y%m%d-%H%M}"

# How many backups to keep, per priority (SOP 003 ranks applications daily/weekly/monthly).
# Older ones are forgotten and their space freed after a successful run.
retention:
  daily:
    keep_daily: 14
    keep_weekly: 8
    keep_monthly: 12
  weekly:
    keep_weekly: 12
    keep_monthly: 12
    keep_yearly: 2
  monthly:
    keep_monthly: 24
    keep_yearly: 5

# After each run every new backup is read back completely and restored in a test: a
# database into a throw-away database (cadang_verify_...) that is dropped again, a sample of
# files into a temporary folder; the counts and hashes must match what was backed up.
# The result is kept with the backup ("verified restorable on ..."). An application may
# override any of these keys under its own verify:.
verify:
  after_run: true
  restore_test: true
  sample_files: 50               # files restored per files source
  sample_mib: 64                 # at most this much of them
  row_tolerance: 0.1             # when the row counts at backup were only estimates

# 'cadang status' calls an application overdue when its last good (complete, verified)
# backup is older than this many hours, by priority.
overdue_after_hours:
  daily: 26
  weekly: 192                    # 8 days
  monthly: 768                   # 32 days

applications:
  # SOP 001: the population registry (SIAK) on Oracle, exported every day.
  - name: siak
    owner: Bidang Pelayanan Pendaftaran Penduduk     # the owning unit (OPD / unit kerja)
    priority: daily                # daily | weekly | monthly
    classification: confidential   # public | internal | confidential
    # repository: main             # default: the first repository above
    antivirus:                     # what an infected file found before the backup does:
      on_infection: block          # block (default) | quarantine-and-continue | warn
      required: true               # ClamAV missing is a failure, not just a skipped check
    verify:                        # overrides the plan's verify: for this application
      sample_mib: 256              # the scans are large: restore more of them per test
    sources:
      - type: oracle
        name: database
        connect: siak@SIAKDB       # user@service; the password comes from the secret
        password_file: secrets/oracle-siak.pass
        schemas: [SIAK]
        tool: datapump             # expdp/impdp; "legacy" uses exp/imp
        # Offices run Oracle differently: the commands can be given in full.
        # {connect}, {schemas} and {file} are filled in ({into} for a restore).
        # export_command: [expdp, "{connect}", "schemas={schemas}", "dumpfile={file}"]
        # import_command: [impdp, "{connect}", "schemas={schemas}", "dumpfile={file}",
        #                  "remap_schema={schemas}:{into}"]
    # Oracle has no restore test yet; its backups are read back after each run.
      - type: files
        name: berkas
        paths:
          - /srv/siak/berkas       # scanned documents of the registry
        exclude:
          - "*.tmp"

  # SOP 002 and 003: the staff system (SIMPEG) on PostgreSQL with its source code.
  - name: simpeg
    owner: Badan Kepegawaian dan Pengembangan SDM
    priority: daily
    classification: confidential
    service:                       # used by an in-place restore (SOP 002)
      stop: systemctl stop simpeg
      start: systemctl start simpeg
      health: http://127.0.0.1:8080/health   # a command, or a URL that must answer 2xx
    sources:
      - type: postgres
        name: database
        host: 127.0.0.1
        port: 5432
        user: postgres             # password from ~/.pgpass, or password_file / password_env
        databases: [simpeg]        # or: all
        globals: true              # roles and tablespaces too
        amcheck: true              # check every B-tree index first (needs a superuser once)
      - type: files
        name: source-code
        paths:
          - /var/www/simpeg
        exclude:
          - /var/www/simpeg/storage/cache
          - "*.log"
        one_file_system: true

  # The office website on MariaDB (the same source type serves MySQL: type: mysql).
  - name: website
    owner: Bidang Informasi dan Inovasi
    priority: weekly
    classification: public
    antivirus:
      on_infection: quarantine-and-continue   # leave infected uploads out, list them
    service:
      stop: systemctl stop nginx
      start: systemctl start nginx
      health: https://disdukcapil.bulelengkab.go.id/
    sources:
      - type: mariadb
        name: database
        host: 127.0.0.1
        port: 3306
        user: root                 # credentials from ~/.my.cnf, or:
        # option_file: /etc/cadang/mariadb-backup.cnf
        databases: all
      - type: files
        name: source-code
        paths:
          - /var/www/html

  # SOP 004: electronic official correspondence (surat dinas), SQLite plus the scans.
  - name: surat-dinas
    owner: Sekretariat
    priority: monthly
    classification: confidential
    sources:
      - type: sqlite
        name: database
        path: /var/lib/surat-dinas/surat.db   # read with SQLite's online backup
      - type: files
        name: arsip
        paths:
          - /srv/surat-dinas/arsip/biasa
          - /srv/surat-dinas/arsip/dikecualikan

  # Anything else: a command whose standard output is the backup, and one that takes it
  # back on standard input.
  - name: antrean
    owner: Bidang Pelayanan Pendaftaran Penduduk
    priority: weekly
    classification: internal
    sources:
      - type: command
        name: mongodb
        backup: [mongodump, --archive, --db=antrean]
        restore: [mongorestore, --archive, --drop]
        filename: antrean.archive
        # A restore test runs only when restore takes the new name ({into}) and drop can
        # remove that copy again (a restore that ignores the name would overwrite the
        # original), e.g.:
        # restore: [mongorestore, --archive, "--nsFrom=antrean.*", "--nsTo={into}.*"]
        # drop: [mongosh, --quiet, "{into}", --eval, "db.dropDatabase()"]
"""
