"""Lab 06: prove a backup restores - the job says success, the restore says otherwise."""
