#!/bin/sh
# cercle-backup: one backup of the Cercle data, checked, kept for a week.
# Installed as /usr/local/bin/cercle-backup and run every night by cercle-backup.timer, as the
# cercle user (run it by hand with: systemctl start cercle-backup).
#
# Each day of the week has its own folder, /var/lib/cercle/backups/1 (Monday) to 7 (Sunday). The new
# backup is made in backups/.new, verified, and only then replaces the folder of the same day a
# week ago. So there are at most 7 backups, and what the server deleted (expired messages) is gone
# from the backups after 7 days too.
#
# With the server running, the server itself copies its data (it keeps serving); with it stopped,
# cercle-admin opens the data folder.
set -eu

data=${CERCLE_DATA:-/var/lib/cercle/data}
backups=${CERCLE_BACKUPS:-/var/lib/cercle/backups}
admin=${CERCLE_ADMIN:-/usr/local/bin/cercle-admin}

day=$(date +%u)
new="$backups/.new"

mkdir -p "$backups"
rm -rf "$new"
"$admin" --data "$data" backup create "$new"
"$admin" --data "$data" backup verify "$new"
rm -rf "${backups:?}/$day"
mv "$new" "$backups/$day"
echo "cercle-backup: backup of the day kept in $backups/$day"
