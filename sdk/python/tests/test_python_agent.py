"""Offline tests of the Python template's task work (workspaces/python-agent/agent.py): which tasks it takes, and that task
text, which any agent may write, never names a path or one of the agent's own files. No API is needed; the template's run
against the real API is tested by tests/SystemApi.Tests/PythonSdkTests.cs, which also runs this file:

    PYTHONPATH=sdk/python /usr/bin/python3 -m unittest -v sdk/python/tests/test_python_agent.py
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import tempfile
import unittest

import cyagents

ROOT = pathlib.Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("template_agent", ROOT / "workspaces" / "python-agent" / "agent.py")
agent = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(agent)


def task(task_id, description, reward=100, poster=None, state="Open"):
    return cyagents.Task(id=task_id, title=task_id, description=description, reward=reward, posted_cycle=1, deadline_cycle=30,
                         verifier=cyagents.Verifier(kind="command"), state=state, escrow_transfer_id=f"task:{task_id}:escrow",
                         poster_agent_id=poster)


class ParseTaskTests(unittest.TestCase):
    def test_the_shipped_feed_parses_except_the_task_without_a_content_line(self):
        feed = json.loads((ROOT / "tasks" / "feed.json").read_text())
        parsed = {t["key"]: agent.parse_task(t["description"]) for t in feed["tasks"]}
        self.assertEqual(parsed["hello-file"], ("hello.txt", "hello, cyagents"))
        self.assertEqual(parsed["sum-to-1000"], ("sum.txt", "500500"))
        self.assertEqual(parsed["greeting-file"], ("greeting.txt", "agents earn credits by doing work"))
        self.assertEqual(parsed["first-primes"][0], "primes.txt")
        self.assertIsNone(parsed["fibonacci-30"])

    def test_names_that_leave_the_folder_hide_or_hit_our_own_files_are_refused(self):
        for name in ["../escape.txt", "/etc/passwd", "sub/dir.txt", "back\\slash.txt", ".bashrc", "..", "agent.py", "Agent.PY",
                     "state.json", "journal.txt", "agent.json", "has space.txt", "naïve.txt", "", "a" * 65]:
            with self.subTest(name=name):
                self.assertFalse(agent.plain_file_name(name))
                self.assertIsNone(agent.parse_task(f"file: {name}\ncontent: x"))
        self.assertTrue(agent.plain_file_name("a" * 64))

    def test_content_is_bounded_and_each_line_may_appear_once(self):
        self.assertIsNotNone(agent.parse_task("file: a.txt\ncontent: " + "x" * 4096))
        self.assertIsNone(agent.parse_task("file: a.txt\ncontent: " + "x" * 4097))
        self.assertIsNone(agent.parse_task("file: a.txt\nfile: b.txt\ncontent: x"))
        self.assertIsNone(agent.parse_task("file: a.txt\ncontent: x\ncontent: y"))
        self.assertIsNone(agent.parse_task("content: x"))
        self.assertIsNone(agent.parse_task(None))
        self.assertEqual(agent.parse_task("Do it.\r\nfile:  hi.txt \r\ncontent:  hi \r\n"), ("hi.txt", "hi"))


class ChooseTasksTests(unittest.TestCase):
    def test_best_paid_first_not_our_own_not_twice_and_at_most_the_limit(self):
        tasks = [task("mine", "file: m.txt\ncontent: m", 900, poster="me"), task("cheap", "file: c.txt\ncontent: c", 10),
                 task("dear", "file: d.txt\ncontent: d", 500), task("done", "file: e.txt\ncontent: e", 800),
                 task("gone", "file: g.txt\ncontent: g", 700, state="Awarded")]
        chosen = agent.choose_tasks(tasks, "me", {"done"}, set(), lambda n, c: False, 4)
        self.assertEqual([(t.id, n, c) for t, n, c in chosen], [("dear", "d.txt", "d"), ("cheap", "c.txt", "c")])
        self.assertEqual([t.id for t, _, _ in agent.choose_tasks(tasks, "me", set(), set(), lambda n, c: False, 1)], ["done"])

    def test_two_tasks_for_one_file_give_the_better_paid_one_only(self):
        tasks = [task("a", "file: x.txt\ncontent: 1", 10), task("b", "file: x.txt\ncontent: 2", 20)]
        self.assertEqual([t.id for t, _, _ in agent.choose_tasks(tasks, "me", set(), set(), lambda n, c: False, 4)], ["b"])


class OccupiedTests(unittest.TestCase):
    def setUp(self):
        self._old = os.getcwd()
        self._dir = tempfile.TemporaryDirectory()
        os.chdir(self._dir.name)

    def tearDown(self):
        os.chdir(self._old)
        self._dir.cleanup()

    def test_a_file_of_ours_is_kept_unless_it_already_holds_the_answer(self):
        pathlib.Path("notes.txt").write_text("mine", encoding="utf-8")
        self.assertFalse(agent.occupied("new.txt", "x"))
        self.assertTrue(agent.occupied("notes.txt", "theirs"))
        self.assertFalse(agent.occupied("notes.txt", "mine"))

    def test_a_link_or_a_folder_is_never_written_through(self):
        os.mkdir("folder")
        os.symlink("/etc/hostname", "link.txt")
        os.symlink("/nowhere", "dangling.txt")
        for name in ["folder", "link.txt", "dangling.txt"]:
            with self.subTest(name=name):
                self.assertTrue(agent.occupied(name, "x"))


if __name__ == "__main__":
    unittest.main()
