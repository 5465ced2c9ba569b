"""Tests of the Python bindings (python/strand) on a bundled trace.
Run: STRAND_LIBRARY=build/libstrand.so PYTHONPATH=python python3 -m unittest tests/python/test_strand.py
"""
import os
import unittest

import strand

HERE = os.path.dirname(os.path.abspath(__file__))
TRACE = os.path.join(HERE, "..", "traces", "httpssl-nodevice.strand")


class TraceTest(unittest.TestCase):
    def setUp(self):
        self.t = strand.Trace(TRACE)

    def tearDown(self):
        self.t.close()

    def test_seek_moves_both_ways_and_stops_at_the_end(self):
        self.assertEqual(self.t.position, 0)
        self.assertTrue(self.t.seek(2000))
        self.assertEqual(self.t.position, 2000)
        self.assertTrue(self.t.step(-10))
        self.assertEqual(self.t.position, 1990)
        self.t.seek(self.t.end)
        self.assertFalse(self.t.step(1))
        self.assertEqual(self.t.position, self.t.end)

    def test_registers_agree_with_the_query_engine(self):
        self.t.seek(2000)
        regs = self.t.registers()
        q = self.t.query("regs")["registers"]
        self.assertEqual(regs["eip"], int(q["eip"], 16))
        self.assertEqual(self.t.reg("esp"), int(q["esp"], 16))
        with self.assertRaises(KeyError):
            self.t.reg("r15")  # an x86-32 trace

    def test_memory_reads_the_stack_and_refuses_unmapped(self):
        self.t.seek(2000)
        sp = self.t.reg("esp")
        data = self.t.read(sp, 16)
        self.assertEqual(len(data), 16)
        q = self.t.query("mem 0x%x 16" % sp)
        self.assertEqual(data.hex(), q["bytes"])
        with self.assertRaises(strand.Error):
            self.t.read(0, 4)

    def test_calls_lists_the_failed_device_open(self):
        calls = self.t.calls("ntdll!NtCreateFile")
        self.assertTrue(calls)
        self.assertTrue(any(c["result"] == "0xc000000e" for c in calls))

    def test_origin_follows_a_value_backward(self):
        self.t.seek(2000)
        chain = self.t.origin("eax")["chain"]
        self.assertGreater(len(chain), 1)
        self.assertLess(chain[-1]["position"], 2000)

    def test_bad_command_raises_with_status(self):
        with self.assertRaises(strand.Error) as cm:
            self.t.query("nosuchcommand")
        self.assertTrue(str(cm.exception))

    def test_closed_trace_raises(self):
        self.t.close()
        with self.assertRaises(strand.Error):
            self.t.seek(1)


class ModuleTest(unittest.TestCase):
    def test_report_names_the_root_cause(self):
        rep = strand.report(TRACE)
        self.assertEqual(rep["verdict"], "failure")
        self.assertIn("NtCreateFile", str(rep.get("root_cause")))

    def test_missing_file_raises(self):
        with self.assertRaises(strand.Error):
            strand.Trace(os.path.join(HERE, "no-such.strand"))

    def test_version_is_the_library_version(self):
        with open(os.path.join(HERE, "..", "..", "VERSION")) as f:
            self.assertEqual(strand.__version__, f.read().strip())


if __name__ == "__main__":
    unittest.main()
