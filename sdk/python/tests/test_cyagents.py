"""Tests of cyagents.py (standard library only).

``LiveApiTests`` run against the real System API: CYAGENTS_ENV must name an execution context whose agent has at least
5,000 credits, whose execution won at least 1,000 LLM tokens and may spawn one child per cycle; the API's echo
provider serves the model ``echo``. tests/SystemApi.Tests/PythonSdkTests.cs sets that up and runs this file.
``FakeServerTests`` run against a scripted server on a unix socket, for answers the real API gives only under load
(429 with Retry-After, 503, a lost connection, a broken stream).

    CYAGENTS_ENV=/path/env.json PYTHONPATH=sdk/python /usr/bin/python3 -m unittest -v sdk/python/tests/test_cyagents.py
"""

from __future__ import annotations

import email.utils
import json
import os
import socketserver
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler

import cyagents
from cyagents import Bundle

SMALL = Bundle(cpu_millicores=100, memory_mib=32)


class LiveApiTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        if not os.environ.get(cyagents.ENV_VARIABLE):
            raise RuntimeError(f"{cyagents.ENV_VARIABLE} is not set: these tests need the real API (see the docstring)")
        cls.ctx = cyagents.context()
        cls.api = cyagents.connect()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.api.close()

    def assertRefused(self, error_type, status, code, call):
        with self.assertRaises(error_type) as caught:
            call()
        e = caught.exception
        self.assertIsInstance(e, cyagents.CyAgentsError)
        self.assertEqual((e.status, e.code), (status, code), str(e))
        self.assertTrue(e.detail, "a refusal carries a detail")
        return e

    def test_context_names_the_calling_agent(self):
        me = self.api.me()
        self.assertEqual(me.id, self.ctx.agent_id)
        self.assertEqual(self.api.agent(me.id), me)
        self.assertGreater(self.ctx.bundle.tokens, 0)
        self.assertEqual(set(self.ctx.prices), {"cpu", "memory", "tokens", "attention"})

    def test_market_prices_history_and_health(self):
        self.assertEqual(self.api.health()["status"], "ok")
        prices = self.api.prices()
        self.assertEqual([r.kind for r in prices.resources], ["cpu", "memory", "tokens", "attention"])
        self.assertGreaterEqual(prices.next_cycle, 1)
        self.assertGreaterEqual(prices.cost_of(SMALL), 1)
        self.assertIsInstance(self.api.history(5), list)
        self.assertRefused(cyagents.ValidationError, 400, "validation", lambda: self.api.history(0))

    def test_balance_and_transactions(self):
        balance = self.api.balance()
        self.assertEqual(balance.agent_id, self.ctx.agent_id)
        self.assertEqual(balance.available, balance.posted - balance.reserved)
        kinds = {t.kind for t in self.api.transactions(take=200)}
        self.assertIn("Endowment", kinds)

    def test_bid_get_list_and_cancel(self):
        before = self.api.balance().available
        bid = self.api.bid(SMALL, 40)
        self.assertEqual((bid.status, bid.amount, bid.bundle), ("Open", 40, SMALL))
        self.assertEqual(self.api.balance().available, before - 40, "the amount is escrowed at once")
        self.assertEqual(self.api.get_bid(bid.id), bid)
        self.assertIn(bid.id, [b.id for b in self.api.bids(status="Open")])
        cancelled = self.api.cancel_bid(bid.id)
        self.assertEqual(cancelled.status, "Cancelled")
        self.assertEqual(self.api.balance().available, before, "cancelling voids the escrow")
        self.assertRefused(cyagents.Conflict, 409, "conflict", lambda: self.api.cancel_bid(bid.id))

    def test_the_same_idempotency_key_replays_the_first_bid_and_charges_once(self):
        key = cyagents.idempotency_key(self.ctx.execution_id, "bid", "replay-test")
        before = self.api.balance().available
        first = self.api.bid(SMALL, 77, idempotency_key=key)
        again = self.api.bid(SMALL, 77, idempotency_key=key)
        self.assertEqual(again, first)
        self.assertEqual(self.api.balance().available, before - 77, "one escrow, not two")
        self.assertRefused(cyagents.Conflict, 409, "conflict", lambda: self.api.bid(SMALL, 78, idempotency_key=key))
        self.api.cancel_bid(first.id)

    def test_refusals_raise_the_class_of_their_stable_code(self):
        e = self.assertRefused(cyagents.ValidationError, 400, "validation", lambda: self.api.bid(SMALL, 0))
        self.assertIn("amount", e.errors)
        self.assertRefused(cyagents.InsufficientFunds, 402, "insufficient_funds", lambda: self.api.bid(SMALL, 10 ** 12))
        self.assertRefused(cyagents.BundleExceedsSupply, 422, "bundle_exceeds_supply",
                           lambda: self.api.bid(Bundle(cpu_millicores=10 ** 9, memory_mib=32), 10))
        self.assertRefused(cyagents.NotFound, 404, "not_found", lambda: self.api.get_bid("bid-none"))
        with cyagents.Client(self.ctx.api_socket, "not-a-token") as stranger:
            self.assertRefused(cyagents.Unauthenticated, 401, "unauthenticated", stranger.balance)

    def test_spawn_agent_and_lineage(self):
        before = self.api.balance().available
        spawned = self.api.spawn("sdk-child", 500, strategy={"note": "from the sdk test"})
        self.assertEqual(spawned.agent.parent_id, self.ctx.agent_id)
        self.assertEqual(spawned.endowment, 500)
        self.assertEqual(self.api.balance().available, before - 500 - spawned.fee)
        self.assertEqual(self.api.agent(spawned.agent.id).name, "sdk-child")
        tree = self.api.lineage()
        self.assertEqual(tree.agent.id, self.ctx.agent_id)
        self.assertIn(spawned.agent.id, [c.agent.id for c in tree.children])
        self.assertRefused(cyagents.SpawnLimit, 422, "spawn_limit", lambda: self.api.spawn("second", 500))
        self.assertRefused(cyagents.ValidationError, 400, "validation", lambda: self.api.spawn("", 500))

    def test_ask_and_poll_prompts(self):
        asked = self.api.ask("Which resource is underpriced?")
        self.assertEqual(asked.status, "Pending")
        self.assertEqual(self.api.prompt(asked.id), asked)
        self.assertIn(asked.id, [p.id for p in self.api.prompts()])
        self.assertEqual(asked.attention, 200)  # 100 bp per prompt + 100 bp per started thousand characters
        self.assertRefused(cyagents.ValidationError, 400, "validation", lambda: self.api.ask("   "))
        # The execution won 300 bp: a second prompt would spend 400.
        self.assertRefused(cyagents.AttentionExhausted, 422, "attention_exhausted", lambda: self.api.ask("And after that?"))

    def test_post_list_and_submit_tasks(self):
        task = self.api.post_task("a haiku", 1, 5, description="poem.txt", human_review=True)
        self.assertEqual((task.state, task.reward, task.verifier.kind), ("Open", 1, "human"))
        self.assertIn(task.id, [t.id for t in self.api.tasks()])
        self.assertEqual(self.api.task(task.id).title, "a haiku")
        self.assertEqual(self.api.submissions(task.id), [])
        self.assertRefused(cyagents.InsufficientFunds, 402, "insufficient_funds",
                           lambda: self.api.post_task("too dear", 10**6, 5, command=["python3", "-c", "pass"]))
        self.assertRefused(cyagents.SubmissionRefused, 422, "submission_refused", lambda: self.api.submit(task.id, "no-such-file.txt"))
        self.assertRefused(cyagents.NotFound, 404, "not_found", lambda: self.api.submit("tsk-none", "poem.txt"))

    def test_cycles_and_executions(self):
        self.assertIsInstance(self.api.cycles(), list)
        self.assertIn(self.ctx.execution_id, [e.id for e in self.api.executions(take=200)])

    def test_models_and_plain_chat(self):
        self.assertIn("echo", [m["id"] for m in self.api.models()])
        answer = self.api.chat([{"role": "user", "content": "bid low, win often"}], model="echo", max_tokens=50)
        self.assertIn("bid low, win often", answer["choices"][0]["message"]["content"])
        self.assertGreater(answer["usage"]["total_tokens"], 0)
        self.assertIsNotNone(self.api.tokens_left)
        self.assertLess(self.api.tokens_left, self.ctx.bundle.tokens)
        self.assertTrue(self.api.last_call_id)
        # The default model is the first the host serves.
        self.assertIn("choices", self.api.chat("hello", max_tokens=10))

    def test_streamed_chat_ends_at_done_with_a_usage_chunk(self):
        stream = self.api.chat("stream me please", model="echo", max_tokens=50, stream=True)
        chunks = list(stream)
        self.assertTrue(stream.done)
        self.assertGreater(len(chunks), 1)
        self.assertIn("stream me please", stream.text)
        self.assertIsNotNone(stream.usage)
        self.assertGreater(stream.usage["completion_tokens"], 0)
        self.assertEqual(chunks[-1]["choices"], [], "the usage chunk comes last, with no choices")

    def test_gateway_refusals_map_to_the_same_errors(self):
        self.assertRefused(cyagents.TokenBudgetExceeded, 422, "token_budget_exceeded",
                           lambda: self.api.chat("hi", model="echo", max_tokens=100_000))
        self.assertRefused(cyagents.TokenBudgetExceeded, 422, "token_budget_exceeded",
                           lambda: list(self.api.chat("hi", model="echo", max_tokens=100_000, stream=True)))
        self.assertRefused(cyagents.NotFound, 404, "not_found", lambda: self.api.chat("hi", model="no-such-model"))

    def test_embeddings_and_the_old_completion_route(self):
        vectors = self.api.embeddings(["cpu", "memory"], model="echo")
        self.assertEqual(len(vectors["data"]), 2)
        self.assertEqual(len(vectors["data"][0]["embedding"]), 8)
        self.assertIn("text", self.api.complete("old route", max_tokens=10))

    def test_zz_a_real_429_is_raised_with_retry_after_and_waited_out_by_default(self):
        # Named zz so it runs last: it empties this agent's request bucket (SystemApi:RateLimitBurst, set low by the host).
        impatient = cyagents.Client(self.ctx.api_socket, self.ctx.token, attempts=1)
        with self.assertRaises(cyagents.RateLimited) as caught:
            for _ in range(500):
                impatient.balance()
        self.assertEqual((caught.exception.status, caught.exception.code), (429, "rate_limited"))
        self.assertGreaterEqual(caught.exception.retry_after, 1)
        # Whether the patient client meets the empty bucket depends on how fast this machine gets there (the bucket refills
        # while a loaded host is slow), so the test empties it again until the patient client's first try is refused, and
        # then asserts on the waits the client made rather than on wall time.
        patient = cyagents.Client(self.ctx.api_socket, self.ctx.token)
        waits: list[float] = []
        real_sleep = cyagents.time.sleep
        cyagents.time.sleep = lambda seconds: (waits.append(seconds), real_sleep(seconds))[1]
        try:
            for _ in range(20):
                with self.assertRaises(cyagents.RateLimited):
                    for _ in range(500):
                        impatient.balance()
                self.assertEqual(patient.balance().agent_id, self.ctx.agent_id)
                if waits:
                    break
        finally:
            cyagents.time.sleep = real_sleep
        self.assertTrue(waits, "the patient client never met the empty bucket in 20 tries")
        self.assertGreaterEqual(waits[0], 1, "the default client waited at least Retry-After")
        impatient.close()
        patient.close()


# ---------------------------------------------------------------------------------------------------------------------

class _Script(BaseHTTPRequestHandler):
    """Answers each request with the next scripted reply: (status, headers, body) or "drop" (close, no answer)."""
    protocol_version = "HTTP/1.1"
    replies: list = []
    seen: list = []

    def log_message(self, *args):  # a unix socket has no client address to log
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, dict(self.headers), body))
        reply = self.replies.pop(0) if self.replies else (500, {}, b"script exhausted")
        if reply == "drop":
            self.close_connection = True
            return
        status, headers, payload = reply
        payload = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that hung up early is part of some scripts
        pass


def _problem(status, code):
    return {"type": f"urn:cyagents:problem:{code}", "title": code, "status": status, "detail": f"scripted {code}", "code": code}


BALANCE = {"agentId": "a", "posted": 10, "reserved": 0, "available": 10}
BID = {"id": "bid-1", "agentId": "a", "cycle": 2, "bundle": SMALL.to_json(), "amount": 5, "status": "Open",
       "payment": None, "escrowTransferId": "bid:bid-1:escrow", "createdAt": "2026-12-01T00:00:00+00:00"}


class FakeServerTests(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.folder.name, "api.sock")
        _Script.replies, _Script.seen = [], []
        self.server = _UnixServer(self.path, _Script)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        self.api = cyagents.Client(self.path, "tkn", backoff=0.01)

    def tearDown(self):
        self.api.close()
        self.server.shutdown()
        self.server.server_close()
        self.folder.cleanup()

    def script(self, *replies):
        _Script.replies.extend(replies)

    def test_429_waits_for_retry_after_and_reuses_the_idempotency_key(self):
        self.script((429, {"Retry-After": "1"}, _problem(429, "rate_limited")), (201, {}, BID))
        started = time.monotonic()
        bid = self.api.bid(SMALL, 5)
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertEqual(bid.id, "bid-1")
        keys = [h["Idempotency-Key"] for _, _, h, _ in _Script.seen]
        self.assertEqual(len(keys), 2)
        self.assertEqual(keys[0], keys[1], "one logical write, one key, on every attempt")
        self.assertEqual(_Script.seen[0][2]["Authorization"], "Bearer tkn")

    def test_each_logical_write_gets_its_own_key(self):
        self.script((201, {}, BID), (201, {}, BID))
        self.api.bid(SMALL, 5)
        self.api.bid(SMALL, 5)
        self.assertNotEqual(_Script.seen[0][2]["Idempotency-Key"], _Script.seen[1][2]["Idempotency-Key"])

    def test_retry_after_as_an_http_date(self):
        when = email.utils.formatdate(time.time() + 1, usegmt=True)
        self.script((503, {"Retry-After": when}, b""), (200, {}, BALANCE))
        self.assertEqual(self.api.balance().available, 10)
        self.assertEqual(len(_Script.seen), 2)

    def test_503_without_retry_after_backs_off_and_retries(self):
        self.script((503, {}, b""), (503, {}, b""), (200, {}, BALANCE))
        self.assertEqual(self.api.balance().posted, 10)
        self.assertEqual(len(_Script.seen), 3)

    def test_attempts_are_bounded(self):
        self.script(*[(429, {"Retry-After": "0"}, _problem(429, "rate_limited"))] * 10)
        with self.assertRaises(cyagents.RateLimited) as caught:
            self.api.balance()
        self.assertEqual(len(_Script.seen), self.api.attempts)
        self.assertEqual(caught.exception.retry_after, 0)

    def test_a_retry_after_beyond_the_bound_is_raised_at_once(self):
        self.script((429, {"Retry-After": "3600"}, _problem(429, "rate_limited")))
        with self.assertRaises(cyagents.RateLimited) as caught:
            self.api.balance()
        self.assertEqual(caught.exception.retry_after, 3600)
        self.assertEqual(len(_Script.seen), 1)

    def test_503_after_the_last_attempt_is_unavailable(self):
        self.script(*[(503, {}, b"")] * 4)
        with self.assertRaises(cyagents.Unavailable) as caught:
            self.api.balance()
        self.assertEqual((caught.exception.status, caught.exception.code), (503, "unavailable"))

    def test_a_lost_answer_is_retried_for_reads_and_keyed_writes_only(self):
        self.script("drop", (200, {}, BALANCE))
        self.assertEqual(self.api.balance().available, 10)
        self.script("drop", (201, {}, BID))
        self.api.bid(SMALL, 5)
        self.assertEqual(_Script.seen[-1][2]["Idempotency-Key"], _Script.seen[-2][2]["Idempotency-Key"])
        # A chat call is metered, not keyed: repeating it after a lost answer could pay twice.
        self.api.close()
        self.script("drop", (200, {}, {"choices": []}))
        seen = len(_Script.seen)
        with self.assertRaises(cyagents.Unavailable):
            self.api.chat("hi", model="m")
        self.assertEqual(len(_Script.seen), seen + 1)

    def test_an_unreachable_socket_is_unavailable(self):
        api = cyagents.Client(os.path.join(self.folder.name, "missing.sock"), "t", attempts=2, backoff=0.01)
        with self.assertRaises(cyagents.Unavailable) as caught:
            api.balance()
        self.assertIsNone(caught.exception.status)

    def test_openai_shaped_errors_carry_our_code(self):
        body = {"error": {"message": "no tokens left", "type": "insufficient_quota", "param": "max_tokens",
                          "code": "token_budget_exceeded"}}
        self.script((422, {}, body))
        with self.assertRaises(cyagents.TokenBudgetExceeded) as caught:
            self.api.chat("hi", model="m")
        e = caught.exception
        self.assertEqual((e.status, e.code, e.title, e.param), (422, "token_budget_exceeded", "insufficient_quota", "max_tokens"))
        self.assertEqual(e.detail, "no tokens left")

    def test_chat_429_is_retried_like_any_call(self):
        rate = {"error": {"message": "slow down", "type": "rate_limit_error", "param": None, "code": "rate_limited"}}
        self.script((429, {"Retry-After": "0"}, rate), (200, {}, {"choices": [{"message": {"content": "ok"}}]}))
        self.assertEqual(self.api.chat("hi", model="m")["choices"][0]["message"]["content"], "ok")
        sent = json.loads(_Script.seen[-1][3])
        self.assertNotIn("Idempotency-Key", _Script.seen[-1][2])
        self.assertEqual(sent["messages"], [{"role": "user", "content": "hi"}])

    def test_chat_passes_openai_fields_through(self):
        self.script((200, {}, {"choices": []}))
        self.api.chat("hi", model="m", max_tokens=7, temperature=0.2, tools=[{"type": "function"}])
        sent = json.loads(_Script.seen[-1][3])
        self.assertEqual((sent["max_tokens"], sent["temperature"], sent["tools"]), (7, 0.2, [{"type": "function"}]))

    def test_a_stream_error_event_raises_provider_failed(self):
        events = b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n' \
                 b'data: {"error":{"message":"broke","type":"api_error","param":null,"code":"llm_provider_failed"}}\n\n'
        self.script((200, {"Content-Type": "text/event-stream"}, events))
        stream = self.api.chat("hi", model="m", stream=True)
        with self.assertRaises(cyagents.ProviderFailed):
            list(stream)
        self.assertEqual(stream.text, "a")
        self.assertTrue(json.loads(_Script.seen[-1][3])["stream_options"]["include_usage"])

    def test_a_stream_that_stops_before_done_raises(self):
        self.script((200, {"Content-Type": "text/event-stream"}, b'data: {"choices":[]}\n\n'))
        with self.assertRaises(cyagents.ProviderFailed):
            list(self.api.chat("hi", model="m", stream=True))

    def test_idempotency_keys_are_printable_and_bounded(self):
        self.assertEqual(cyagents.idempotency_key("exe-1", "bid", 7), "exe-1:bid:7")
        long = cyagents.idempotency_key("x" * 300, "é")
        self.assertLessEqual(len(long), 128)
        self.assertTrue(all(0x21 <= ord(c) <= 0x7E for c in long))
        self.assertEqual(long, cyagents.idempotency_key("x" * 300, "é"), "deterministic")


if __name__ == "__main__":
    unittest.main()
