import threading
import unittest
import urllib.request

import app


class AppTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = app.make_server(0)
        cls.port = cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path)) as r:
            return r.status, r.read().decode()

    def test_healthz(self):
        self.assertEqual(self.get("/healthz"), (200, "ok\n"))

    def test_root(self):
        status, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertIn('"service": "{{.Name}}"', body)

    def test_metrics(self):
        status, body = self.get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn("http_requests_total", body)


if __name__ == "__main__":
    unittest.main()
