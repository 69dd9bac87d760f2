"""Alembic migrations of the job-service schema (run by ``kizuna.service._db.upgrade_database``)."""
