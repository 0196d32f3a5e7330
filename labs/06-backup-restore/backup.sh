#!/usr/bin/env bash
# Nightly backup of the shop database to S3 - written the way these scripts usually are.
#
# Environment (set by the scheduler, as a cron job or a CronJob would):
#   PGHOST PGPORT PGUSER PGDATABASE  the database and the backup role
#   PGPASSFILE                       the role's password lives in this file, never in argv
#   BACKUP_BUCKET BACKUP_PREFIX      where the dumps go (s3://$BACKUP_BUCKET/$BACKUP_PREFIX...)
#   AWS_ENDPOINT_URL                 only for an S3-compatible endpoint that is not AWS
set -eu

stamp=$(date -u +%Y%m%dT%H%M%SZ)
key="${BACKUP_PREFIX}shop-${stamp}.dump.gz"

# What the job sees just before it dumps: one "schema.table<TAB>rows" line per table.
psql -X -A -t -F "$(printf '\t')" -f "$(dirname "$0")/count-rows.sql" \
  | aws s3 cp --only-show-errors - "s3://${BACKUP_BUCKET}/${key}.manifest"

pg_dump --format=custom "$PGDATABASE" | gzip | aws s3 cp --only-show-errors - "s3://${BACKUP_BUCKET}/${key}"

echo "backup complete: s3://${BACKUP_BUCKET}/${key}"
