"""Exit 0 when the PostgreSQL server for the test run answers."""

import os
import sys

import psycopg

url = os.environ.get("LMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
try:
    psycopg.connect(url.replace("+psycopg", ""), connect_timeout=3).close()
except psycopg.Error:
    sys.exit(1)
