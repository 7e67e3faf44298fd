"""Fixtures that start a tracking server and point the real mlflow client at it.

Environment:
  PLINTH_TEST_SERVER    plinth (default) or mlflow: the real `mlflow server`, used as the
                        reference to prove the tests themselves are right.
  PLINTH_BIN            the plinth binary (default <repo>/bin/plinth).
  PLINTH_TEST_BACKEND   sqlite (default: SQLite + a local folder) or postgres (PostgreSQL + S3).
  PLINTH_TEST_POSTGRES_DSN  admin DSN; each session creates and drops its own database.
  PLINTH_TEST_S3_ENDPOINT   an S3 server to use; when unset, versitygw (PATH or
                        PLINTH_VERSITYGW) is started on a free port.
  PLINTH_TEST_S3_ACCESS_KEY / PLINTH_TEST_S3_SECRET_KEY  credentials for that endpoint.
"""

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pytest
import requests
from mlflow.tracking import MlflowClient

REPO = Path(__file__).resolve().parents[2]
S3_REGION = os.environ.get("PLINTH_TEST_S3_REGION", "us-east-1")
S3_BUCKET = "plinth-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _die_with_parent():
    """Linux: the child gets SIGTERM if pytest dies, so no server outlives a killed run."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Process:
    """A child process in its own session with its output in a log file."""

    def __init__(self, name, argv, log: Path, env=None):
        self.name, self.log = name, log
        self._logf = open(log, "wb")
        self.proc = subprocess.Popen(
            argv, stdout=self._logf, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def check_alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.proc.returncode}; log {self.log}:\n{tail(self.log)}"
            )

    def wait_ready(self, probe, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if probe():
                    return
            except (requests.RequestException, OSError):
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"{self.name} not ready after {timeout}s; log {self.log}:\n{tail(self.log)}")

    def stop(self, timeout=30.0) -> int:
        """SIGTERM, then wait; kills the whole group if it does not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise RuntimeError(f"{self.name} did not exit within {timeout}s of SIGTERM")
        self._logf.close()
        return self.proc.returncode

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


@dataclass
class S3:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    prefix: str
    process: Process | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=S3_REGION,
            config=Config(s3={"addressing_style": "path"}),
        )

    def objects(self) -> dict[str, bytes]:
        """Every object under the prefix, by key relative to it."""
        c = self.client()
        out = {}
        for page in c.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + "/"):
            for o in page.get("Contents", []):
                body = c.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read()
                out[o["Key"][len(self.prefix) + 1 :]] = body
        return out


def start_s3(tmp: Path) -> S3:
    prefix = "run-" + secrets.token_hex(4)
    endpoint = os.environ.get("PLINTH_TEST_S3_ENDPOINT")
    if endpoint:
        s3 = S3(
            endpoint,
            os.environ.get("PLINTH_TEST_S3_ACCESS_KEY", os.environ.get("AWS_ACCESS_KEY_ID", "")),
            os.environ.get("PLINTH_TEST_S3_SECRET_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "")),
            S3_BUCKET,
            prefix,
        )
    else:
        gw = os.environ.get("PLINTH_VERSITYGW") or shutil.which("versitygw")
        if not gw:
            pytest.exit(
                "the postgres backend needs an S3 server: put versitygw on PATH "
                "(scripts/install-versitygw.sh) or set PLINTH_TEST_S3_ENDPOINT",
                returncode=1,
            )
        root = tmp / "s3root"
        root.mkdir()
        port = free_port()
        access, secret = "plinthtest", "plinthtest-secret-" + secrets.token_hex(8)
        proc = Process(
            "versitygw",
            [gw, "--access", access, "--secret", secret, "--region", S3_REGION,
             "--port", f"127.0.0.1:{port}", "--quiet", "posix", str(root)],
            tmp / "versitygw.log",
        )
        s3 = S3(f"http://127.0.0.1:{port}", access, secret, S3_BUCKET, prefix, proc)
        # Any HTTP answer (even 403 to an unsigned request) means it is serving.
        proc.wait_ready(lambda: requests.get(s3.endpoint, timeout=2).status_code > 0, timeout=30)
    c = s3.client()
    try:
        c.head_bucket(Bucket=s3.bucket)
    except c.exceptions.ClientError:
        c.create_bucket(Bucket=s3.bucket)
    return s3


@dataclass
class PostgresDB:
    admin: str
    name: str

    @property
    def dsn(self) -> str:
        u = urllib.parse.urlsplit(self.admin)
        return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + self.name, u.query, ""))

    def _exec(self, sql: str):
        import psycopg

        # autocommit: CREATE/DROP DATABASE cannot run in a transaction.
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql)

    def create(self):
        self._exec(f'CREATE DATABASE "{self.name}"')

    def drop(self):
        self._exec(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@dataclass
class Server:
    kind: str  # plinth or mlflow
    backend: str  # sqlite or postgres
    url: str
    tmp: Path
    artifacts_dir: Path | None = None  # local artifact root (sqlite backend)
    s3: S3 | None = None
    process: Process | None = None
    predictions: str = ""  # where plinth writes the prediction log (a folder, or s3://…)
    extra: dict = field(default_factory=dict)

    def stored_artifacts(self) -> dict[str, bytes]:
        """What the server wrote to its artifact store, by path relative to the root."""
        if self.s3:
            return self.s3.objects()
        return {
            str(p.relative_to(self.artifacts_dir)): p.read_bytes()
            for p in self.artifacts_dir.rglob("*")
            if p.is_file()
        }


def _server_argv(kind, port, db, artifacts, tmp=None, predictions=None):
    if kind == "mlflow":
        return [
            sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
            "--backend-store-uri", db, "--artifacts-destination", artifacts, "--serve-artifacts",
            "--workers", "1",
        ]
    binary = os.environ.get("PLINTH_BIN", str(REPO / "bin" / "plinth"))
    if not os.access(binary, os.X_OK):
        pytest.exit(f"plinth binary {binary} not found: run `make build` or set PLINTH_BIN", returncode=1)
    return [binary, "server", "--host", "127.0.0.1", "--port", str(port), "--db", db, "--artifacts", artifacts,
            # Online serving: its folders under the test's tmp, alias changes picked up fast,
            # and the prediction log written out every second so tests can read it.
            "--predictions", predictions, "--prediction-log-dir", str(tmp / "prediction-wal"),
            "--model-cache", str(tmp / "model-cache"), "--refresh", "500ms", "--prediction-log-flush", "1s"]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    kind = os.environ.get("PLINTH_TEST_SERVER", "plinth")
    backend = os.environ.get("PLINTH_TEST_BACKEND", "sqlite")
    if kind not in ("plinth", "mlflow") or backend not in ("sqlite", "postgres"):
        pytest.exit(f"bad PLINTH_TEST_SERVER={kind!r} or PLINTH_TEST_BACKEND={backend!r}", returncode=1)
    tmp = tmp_path_factory.mktemp("server")
    env = dict(os.environ)
    pg = s3 = None
    artifacts_dir = None
    if backend == "sqlite":
        artifacts_dir = tmp / "artifacts"
        artifacts_dir.mkdir()
        db = f"sqlite:///{tmp}/mlflow.db" if kind == "mlflow" else f"sqlite:{tmp}/plinth.db"
        artifacts = str(artifacts_dir)
        predictions = str(tmp / "predictions")
    else:
        admin = os.environ.get("PLINTH_TEST_POSTGRES_DSN")
        if not admin:
            pytest.exit(
                "PLINTH_TEST_BACKEND=postgres needs PLINTH_TEST_POSTGRES_DSN "
                '(eval "$(scripts/postgres.sh env)")',
                returncode=1,
            )
        pg = PostgresDB(admin, "plinth_py_" + secrets.token_hex(6))
        pg.create()
        s3 = start_s3(tmp)
        db = pg.dsn
        if kind == "mlflow":
            db = "postgresql" + db[db.index(":") :]  # SQLAlchemy's scheme name
        artifacts = s3.uri
        predictions = s3.uri + "-predictions"
        env.update(
            AWS_ACCESS_KEY_ID=s3.access_key,
            AWS_SECRET_ACCESS_KEY=s3.secret_key,
            AWS_DEFAULT_REGION=S3_REGION,
            PLINTH_S3_ENDPOINT=s3.endpoint,
            PLINTH_S3_REGION=S3_REGION,
            PLINTH_S3_PATH_STYLE="true",
            MLFLOW_S3_ENDPOINT_URL=s3.endpoint,
        )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = Process(kind, _server_argv(kind, port, db, artifacts, tmp, predictions), tmp / f"{kind}.log", env=env)
    srv = Server(kind, backend, url, tmp, artifacts_dir, s3, proc, predictions)
    try:
        try:
            proc.wait_ready(lambda: requests.get(url + "/health", timeout=2).status_code == 200,
                            timeout=240 if kind == "mlflow" else 60)
        except RuntimeError as e:
            pytest.exit(str(e), returncode=1)  # once, not as an error on every test
        old_uri = os.environ.get("MLFLOW_TRACKING_URI")
        os.environ["MLFLOW_TRACKING_URI"] = url
        mlflow.set_tracking_uri(url)
        yield srv
        if old_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_uri
        code = proc.stop()
        # Plinth must shut down cleanly on SIGTERM; mlflow's launcher reports the signal instead.
        if kind == "plinth" and code != 0:
            pytest.fail(f"plinth exited with {code} after SIGTERM; log {proc.log}:\n{tail(proc.log)}")
    finally:
        # mlflow's launcher leaves uvicorn workers behind in its group; plinth is one process.
        if proc.proc.poll() is None or kind == "mlflow":
            proc.kill()
        if s3 and s3.process:
            s3.process.stop()
        if pg:
            pg.drop()


@pytest.fixture
def client(server) -> MlflowClient:
    return MlflowClient(server.url)


@pytest.fixture
def experiment(server, request) -> str:
    """A fresh experiment for one test, made the active one; returns its id."""
    name = f"{request.node.name[:80]}-{uuid.uuid4().hex[:8]}"
    exp = mlflow.set_experiment(name)
    yield exp.experiment_id
    while mlflow.active_run():
        mlflow.end_run()
