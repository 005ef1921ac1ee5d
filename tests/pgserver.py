"""A PostgreSQL server of Debian's for the tests: initdb and start under a
temporary directory, on a Unix socket only; stop() at the end. As root
the server runs as the 'postgres' user (PostgreSQL refuses root)."""
import glob
import os
import pwd
import shutil

import wp


class Server:
    def __init__(self, port="5987"):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not bins:
            wp.skip("PostgreSQL is not installed (Debian package postgresql-15; 'make deps' installs it)")
        if not shutil.which("psql"):
            wp.skip("psql is not installed ('make deps' installs it)")
        self.bindir = os.path.dirname(bins[-1])
        self.dir = wp.tmpdir()
        os.chmod(self.dir, 0o755)
        self.run_as = []
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                wp.skip("running as root, and there is no 'postgres' user to run the server as")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(self.dir, "data")
        self.port = port
        r = wp.run(self.run_as + [os.path.join(self.bindir, "initdb"), "-D", self.data, "-A", "trust",
                                  "-U", "postgres"], timeout=120)
        if r.returncode != 0:
            wp.skip(f"initdb failed here: {r.stderr.strip()[:200]}")
        r = wp.run(self.run_as + [os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-w", "-l",
                                  os.path.join(self.dir, "log"), "-o",
                                  f"-k {self.dir} -c listen_addresses='' -p {port}", "start"], timeout=120)
        wp.check(r.returncode == 0, f"the server starts: {r.stderr.strip()[:200]}")
        self.psql = ["psql", "-h", self.dir, "-p", port, "-U", "postgres", "-X", "-q", "-At"]

    def query(self, sql):
        return wp.run(self.psql + ["-c", sql]).stdout.strip()

    def postmaster(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def stop(self):
        wp.run(self.run_as + [os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "immediate",
                              "stop"], timeout=60)
