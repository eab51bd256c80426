"""CyAgents SDK for Python agents: standard library only (Python 3.11).

An agent runs in a network-less sandbox; its one way out is the System API, spoken as HTTP/1.1 over the unix
socket named in its execution context (the JSON file whose path is in ``CYAGENTS_ENV``)::

    import cyagents

    api = cyagents.connect()                      # reads the context, bearer token included
    prices = api.prices()
    bundle = cyagents.Bundle(cpu_millicores=250, memory_mib=96)
    api.bid(bundle, amount=min(prices.cost_of(bundle) * 2, api.balance().available))

Economy results are small frozen dataclasses (``Bid``, ``Balance``, ``Agent`` ...); the LLM gateway's routes speak
OpenAI's wire format, so ``chat``, ``embeddings`` and ``models`` return OpenAI's JSON as plain dicts. Every refusal
raises ``CyAgentsError`` (or a subclass named for its stable ``code``). Writes carry an ``Idempotency-Key``, reused
across retries; 429 and 503 are retried honouring ``Retry-After``. Reference: docs/sdk.md.

``python3 -m cyagents`` (or ``python3 cyagents.py``) prints a summary of the context, for debugging.
"""

from __future__ import annotations

import dataclasses
import email.utils
import http.client
import json
import os
import random
import socket
import sys
import time
import typing
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

__all__ = [
    "connect", "context", "Client", "Context", "Bundle", "Balance", "Prices", "ResourceMarket", "HistoryEntry",
    "Transaction", "Bid", "Agent", "LineageNode", "Spawned", "Prompt", "Cycle", "Execution", "ChatStream", "Verifier", "Task",
    "Submission", "TaskClosed", "SubmissionRefused", "SubmissionLimit",
    "CyAgentsError", "ValidationError", "Unauthenticated", "Forbidden", "NotFound", "InsufficientFunds", "Conflict",
    "BundleExceedsSupply", "SpawnLimit", "TokenBudgetExceeded", "ProviderFailed", "RateLimited", "Unavailable",
    "idempotency_key",
]

ENV_VARIABLE = "CYAGENTS_ENV"
DEFAULT_ENV_PATH = "/run/cyagents-env/env.json"


# ---------------------------------------------------------------------------------------------------------------
# Wire types. Field names are the API's camelCase in snake_case; unknown fields are ignored so an older SDK keeps
# working against a newer API.

def _build(cls: Any, data: Any) -> Any:
    """A dataclass from a JSON object, matching keys case-insensitively without underscores (memoryMiB = memory_mib)."""
    if data is None:
        return None
    hints = typing.get_type_hints(cls)
    by_key = {f.name.replace("_", "").lower(): f for f in dataclasses.fields(cls) if f.init}
    values: dict[str, Any] = {}
    for key, value in data.items():
        f = by_key.get(key.lower())
        if f is None:
            continue
        kind = hints[f.name]
        args = typing.get_args(kind)
        if dataclasses.is_dataclass(kind):
            value = _build(kind, value)
        elif typing.get_origin(kind) is list and args and dataclasses.is_dataclass(args[0]) and value is not None:
            value = [_build(args[0], item) for item in value]
        elif any(dataclasses.is_dataclass(a) for a in args) and value is not None:  # Optional[SomeDataclass]
            value = _build(next(a for a in args if dataclasses.is_dataclass(a)), value)
        values[f.name] = value
    return cls(**values)


@dataclass(frozen=True)
class Bundle:
    """A resource bundle: CPU millicores, memory MiB, LLM tokens, human attention in basis points of one cycle."""
    cpu_millicores: int = 0
    memory_mib: int = 0
    tokens: int = 0
    attention_basis_points: int = 0

    def to_json(self) -> dict[str, int]:
        return {"cpuMillicores": self.cpu_millicores, "memoryMiB": self.memory_mib, "tokens": self.tokens,
                "attentionBasisPoints": self.attention_basis_points}


@dataclass(frozen=True)
class Balance:
    """Credits: ``posted`` owned, ``reserved`` held by open bids, ``available`` = posted - reserved."""
    posted: int
    reserved: int
    available: int
    agent_id: str | None = None


@dataclass(frozen=True)
class ResourceMarket:
    """Price (credits per unit), supply and last utilization of one resource kind."""
    kind: str
    unit: str
    price: float
    supply: int
    utilization: float


@dataclass(frozen=True)
class Prices:
    """The market before bidding: one entry per kind (cpu, memory, tokens, attention); bids now are for ``next_cycle``."""
    next_cycle: int
    resources: list[ResourceMarket]
    last_settled_cycle: int | None = None

    def price(self, kind: str) -> float:
        """Credits per unit of ``kind`` (cpu, memory, tokens or attention)."""
        return next(r.price for r in self.resources if r.kind == kind)

    def cost_of(self, bundle: Bundle) -> int:
        """The posted price of a bundle, rounded up to whole credits (as PricesView.CostOf in C#)."""
        raw = (self.price("cpu") * bundle.cpu_millicores + self.price("memory") * bundle.memory_mib
               + self.price("tokens") * bundle.tokens + self.price("attention") * bundle.attention_basis_points)
        return max(0, -int(-(raw - 1e-9) // 1))


@dataclass(frozen=True)
class HistoryEntry:
    """Market state of one resource kind after one cycle."""
    cycle: int
    kind: str
    price: float
    next_price: float
    supply: int
    demand: int
    allocated: int
    utilization: float


@dataclass(frozen=True)
class Transaction:
    """One ledger transfer touching the agent's account."""
    id: str
    sequence: int
    kind: str
    state: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    cycle: int | None = None
    memo: str | None = None
    pending_id: str | None = None
    posted_amount: int | None = None


@dataclass(frozen=True)
class Bid:
    """A bid; ``status`` is Open, Frozen, Won, Lost or Cancelled; ``payment`` is set once a win is settled."""
    id: str
    agent_id: str
    cycle: int
    bundle: Bundle
    amount: int
    status: str
    escrow_transfer_id: str
    created_at: str
    payment: int | None = None


@dataclass(frozen=True)
class Agent:
    """An agent's identity and lineage."""
    id: str
    name: str
    root_id: str
    generation: int
    created_cycle: int
    status: str
    created_at: str
    parent_id: str | None = None


@dataclass(frozen=True)
class LineageNode:
    """One node of a lineage tree."""
    agent: Agent
    children: list[LineageNode] = field(default_factory=list)


@dataclass(frozen=True)
class Spawned:
    """A spawn's result: the child, the credits moved to it, the fee paid, the child's workspace folder name."""
    agent: Agent
    endowment: int
    fee: int
    workspace: str


@dataclass(frozen=True)
class Prompt:
    """A question to the human; ``status`` is Pending until answered (then ``answer`` and ``reward`` are set) or Expired."""
    id: str
    agent_id: str
    cycle: int
    question: str
    reward: int
    status: str
    created_at: str
    execution_id: str | None = None
    answer: str | None = None
    answered_at: str | None = None
    attention: int = 0  # basis points of the human it cost, from the execution's won share


@dataclass(frozen=True)
class Verifier:
    """How a task's work is judged: ``kind`` "command" (``command`` run in ``runtime`` over a read-only copy; exit 0 passes) or "human"."""
    kind: str
    runtime: str | None = None
    command: list[str] | None = None


@dataclass(frozen=True)
class Task:
    """A task with an escrowed ``reward``: the first verified submission is paid; ``state`` is Open, Awarded or Expired."""
    id: str
    title: str
    description: str
    reward: int
    posted_cycle: int
    deadline_cycle: int
    verifier: Verifier
    state: str
    escrow_transfer_id: str
    poster_agent_id: str | None = None
    winner_agent_id: str | None = None
    winner_submission_id: str | None = None


@dataclass(frozen=True)
class Submission:
    """Work handed in for a task: ``state`` Pending, then Awarded (paid), Passed (too late), Failed or Expired."""
    id: str
    task_id: str
    agent_id: str
    cycle: int
    path: str
    files: int
    bytes: int
    state: str
    exit_code: int | None = None
    verdict: str | None = None


@dataclass(frozen=True)
class Cycle:
    """One allocation cycle."""
    number: int
    status: str
    mechanism: str
    bid_count: int
    winner_count: int
    welfare: int
    revenue: int
    started_at: str
    invariant_held: bool | None = None
    ended_at: str | None = None


@dataclass(frozen=True)
class Execution:
    """One run of an agent in its sandbox."""
    id: str
    agent_id: str
    cycle: int
    status: str
    granted: Bundle
    tokens_used: int
    bid_id: str | None = None
    exit_code: int | None = None
    started_at: str | None = None
    ended_at: str | None = None


@dataclass(frozen=True)
class Context:
    """What the execution starts with (env.json): who runs, its token, the bundle won, balance and prices at start."""
    agent_id: str
    execution_id: str
    token: str
    api_socket: str
    bundle: Bundle
    balance: Balance
    cycle: int = 0
    next_cycle: int = 0
    prices: dict[str, float] = field(default_factory=dict)  # cpu, memory, tokens, attention: credits per unit
    deadline: str | None = None

    def seconds_left(self) -> float | None:
        """Seconds until the execution's deadline (the container is killed then), or None when unknown."""
        if not self.deadline:
            return None
        from datetime import datetime, timezone
        end = datetime.fromisoformat(self.deadline.replace("Z", "+00:00"))
        return (end - datetime.now(timezone.utc)).total_seconds()


def context(path: str | None = None) -> Context:
    """Reads the execution context from ``path``, else ``$CYAGENTS_ENV``, else /run/cyagents-env/env.json."""
    path = path or os.environ.get(ENV_VARIABLE) or DEFAULT_ENV_PATH
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return _build(Context, data)


# ---------------------------------------------------------------------------------------------------------------
# Errors: one class per stable code an agent is likely to branch on; every one is a CyAgentsError.

class CyAgentsError(Exception):
    """A refusal of the System API: HTTP ``status``, stable ``code`` (docs/api.md), ``title``, ``detail``, field ``errors``."""

    def __init__(self, status: int | None, code: str | None, title: str | None = None, detail: str | None = None,
                 errors: dict[str, list[str]] | None = None, retry_after: float | None = None, param: str | None = None):
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.errors, self.retry_after, self.param = errors or {}, retry_after, param
        fields = "; ".join(f"{k}: {', '.join(v)}" for k, v in self.errors.items())
        super().__init__(f"{status} {code or title}: {detail or ''}" + (f" ({fields})" if fields else ""))


class ValidationError(CyAgentsError): """400 validation: a field is missing or out of range; see ``errors``."""
class Unauthenticated(CyAgentsError): """401: no, unknown or revoked token (the execution ended?)."""
class Forbidden(CyAgentsError): """403: not allowed for this token (another agent's account, a retired agent)."""
class NotFound(CyAgentsError): """404: no such resource, or not the caller's."""
class InsufficientFunds(CyAgentsError): """402: the available balance does not cover the amount."""
class Conflict(CyAgentsError): """409: wrong state (bid not open) or an idempotency key reused for another request."""
class BundleExceedsSupply(CyAgentsError): """422: the bundle asks for more than the cycle supplies."""
class SpawnLimit(CyAgentsError): """422: spawn depth or children-per-cycle limit reached."""
class TokenBudgetExceeded(CyAgentsError): """422: the LLM call could use more tokens than the execution has left."""
class AttentionExhausted(CyAgentsError): """422: the prompt would cost more attention than the execution won and has left."""
class AgentRetired(Forbidden): """403: this agent is retired (bankrupt and idle); it may not bid, spawn or ask."""
class ProviderFailed(CyAgentsError): """502: every LLM provider of the model failed (or the stream broke)."""
class RateLimited(CyAgentsError): """429 after the SDK's retries: ``retry_after`` says how long to wait."""
class Unavailable(CyAgentsError): """The API could not be reached (socket missing, refused, timed out) or answered 503."""
class TaskClosed(CyAgentsError): """409: the task is awarded, expired or past its deadline cycle."""
class SubmissionRefused(CyAgentsError): """422: the path cannot be copied (a link on the way, a special file, over the limits)."""
class SubmissionLimit(CyAgentsError): """422: a submission to this task still waits for its verdict, or the allowance is used up."""


_BY_CODE: dict[str, type[CyAgentsError]] = {
    "validation": ValidationError, "unauthenticated": Unauthenticated, "forbidden": Forbidden, "not_found": NotFound,
    "insufficient_funds": InsufficientFunds, "conflict": Conflict, "bundle_exceeds_supply": BundleExceedsSupply,
    "spawn_limit": SpawnLimit, "token_budget_exceeded": TokenBudgetExceeded, "llm_provider_failed": ProviderFailed,
    "rate_limited": RateLimited, "unavailable": Unavailable, "attention_exhausted": AttentionExhausted,
    "agent_retired": AgentRetired, "task_closed": TaskClosed,
    "submission_refused": SubmissionRefused, "submission_limit": SubmissionLimit,
}


def _error(status: int | None, body: bytes, retry_after: float | None) -> CyAgentsError:
    """Problem details (RFC 7807) or OpenAI's ``{"error": {...}}`` (gateway routes) as the matching exception."""
    try:
        doc = json.loads(body) if body else {}
    except ValueError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    if isinstance(doc.get("error"), dict):  # the gateway's OpenAI shape, our stable code inside
        e = doc["error"]
        code, title, detail, errors, param = e.get("code"), e.get("type"), e.get("message"), None, e.get("param")
    else:
        code, title, detail, errors, param = doc.get("code"), doc.get("title"), doc.get("detail"), doc.get("errors"), None
    if detail is None and not doc:
        detail = body[:200].decode("utf-8", "replace")
    if code is None and status == 503:
        code = "unavailable"
    cls = _BY_CODE.get(code or "", CyAgentsError)
    return cls(status, code, title, detail, errors, retry_after, param)


def idempotency_key(*parts: object) -> str:
    """A key from parts (e.g. execution id, "bid", cycle): the same logical write gets the same key, even after a restart
    of the agent's program. Printable ASCII, at most 128 characters, as the API requires."""
    text = ":".join(str(p) for p in parts) if parts else uuid.uuid4().hex
    clean = "".join(c if 0x21 <= ord(c) <= 0x7E else "_" for c in text)
    return clean if len(clean) <= 128 else clean[:95] + "~" + uuid.uuid5(uuid.NAMESPACE_URL, clean).hex


# ---------------------------------------------------------------------------------------------------------------
# Transport

class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a unix socket: the sandbox has no network, only the API's socket mounted read-only."""

    def __init__(self, socket_path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)  # the Host header; a unix socket has no host
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


_RETRY_STATUSES = (429, 503)


class Client:
    """The System API for one agent. One method per agent-facing endpoint; see docs/sdk.md for the C# twins.

    ``socket_path`` (or ``url``, e.g. ``http://127.0.0.1:5080`` from the host) and ``token`` come from the context by
    default. ``timeout`` bounds each socket operation; ``attempts`` bounds tries on 429/503 (and on a lost connection,
    for reads and keyed writes); a ``Retry-After`` longer than ``max_retry_after`` is not waited for.
    """

    def __init__(self, socket_path: str | None = None, token: str | None = None, *, url: str | None = None,
                 ctx: Context | None = None, timeout: float = 10.0, chat_timeout: float = 120.0, attempts: int = 4,
                 max_retry_after: float = 30.0, backoff: float = 0.2):
        if socket_path is None and url is None:
            ctx = ctx or context()
            socket_path = ctx.api_socket
        self.ctx = ctx
        self.token = token if token is not None else (ctx.token if ctx else None)
        self.socket_path, self.url = socket_path, urllib.parse.urlsplit(url) if url else None
        self.timeout, self.chat_timeout = timeout, chat_timeout
        self.attempts, self.max_retry_after, self.backoff = max(1, attempts), max_retry_after, backoff
        self.tokens_left: int | None = None  # LLM tokens the execution has left, after the last gateway call
        self.last_call_id: str | None = None  # the gateway's id of the last LLM call (x-cyagents-call-id)
        self._conn: http.client.HTTPConnection | None = None
        self._default_model: str | None = None

    # -- market and economy -------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """GET /health: ``{"status": "ok", "database": "ok", "apiVersion": ...}``."""
        return self._json("GET", "/health")

    def prices(self) -> Prices:
        """GET /v1/market/prices: price, supply and utilization per resource for the next cycle."""
        return _build(Prices, self._json("GET", "/v1/market/prices"))

    def history(self, cycles: int = 10) -> list[HistoryEntry]:
        """GET /v1/market/history: market state of the last ``cycles`` cycles, oldest first."""
        doc = self._json("GET", f"/v1/market/history?cycles={int(cycles)}")
        return [_build(HistoryEntry, e) for e in doc["entries"]]

    def balance(self) -> Balance:
        """GET /v1/economy/balance: own posted, reserved and available credits."""
        return _build(Balance, self._json("GET", "/v1/economy/balance"))

    def transactions(self, skip: int = 0, take: int = 50) -> list[Transaction]:
        """GET /v1/economy/transactions: own ledger transfers, newest first."""
        return self._items(Transaction, "/v1/economy/transactions", skip=int(skip), take=int(take))

    # -- bids -----------------------------------------------------------------------------------------------------

    def bid(self, bundle: Bundle, amount: int, *, idempotency_key: str | None = None) -> Bid:
        """POST /v1/bids: bids ``amount`` credits (escrowed at once) for the whole ``bundle`` in the next cycle."""
        body = {"bundle": bundle.to_json(), "amount": int(amount)}
        return _build(Bid, self._json("POST", "/v1/bids", body, key=idempotency_key))

    def bids(self, cycle: int | None = None, status: str | None = None) -> list[Bid]:
        """GET /v1/bids: own bids, newest first, optionally of one cycle or status (Open, Won, Lost ...)."""
        return self._items(Bid, "/v1/bids", cycle=cycle, status=status)

    def get_bid(self, bid_id: str) -> Bid:
        """GET /v1/bids/{id}: one own bid."""
        return _build(Bid, self._json("GET", f"/v1/bids/{_seg(bid_id)}"))

    def cancel_bid(self, bid_id: str, *, idempotency_key: str | None = None) -> Bid:
        """POST /v1/bids/{id}/cancel: cancels an Open bid; its escrow is voided (Conflict otherwise)."""
        return _build(Bid, self._json("POST", f"/v1/bids/{_seg(bid_id)}/cancel", None, key=idempotency_key))

    # -- agents -----------------------------------------------------------------------------------------------------

    def spawn(self, name: str, endowment: int, *, strategy: dict[str, Any] | None = None, template: str | None = None,
              idempotency_key: str | None = None) -> Spawned:
        """POST /v1/spawn: a child endowed from own credits (plus the spawn fee). Without ``template`` the child's
        workspace is a copy of the caller's (its own code); with one, the named template from the templates folder."""
        body: dict[str, Any] = {"name": name, "endowment": int(endowment)}
        if strategy is not None:
            body["strategy"] = strategy
        if template is not None:  # sent only when asked for: the API's strict bodies refuse fields it does not know
            body["template"] = template
        return _build(Spawned, self._json("POST", "/v1/spawn", body, key=idempotency_key))

    def me(self) -> Agent:
        """GET /v1/agents/self: the calling agent."""
        return _build(Agent, self._json("GET", "/v1/agents/self"))

    def agent(self, agent_id: str) -> Agent:
        """GET /v1/agents/{id}: one agent."""
        return _build(Agent, self._json("GET", f"/v1/agents/{_seg(agent_id)}"))

    def lineage(self, agent_id: str | None = None) -> LineageNode:
        """GET /v1/agents/{id}/lineage: the family tree from the root (of the caller when ``agent_id`` is None)."""
        agent_id = agent_id or (self.ctx.agent_id if self.ctx else self.me().id)
        return _build(LineageNode, self._json("GET", f"/v1/agents/{_seg(agent_id)}/lineage"))

    # -- the human ----------------------------------------------------------------------------------------------------

    def ask(self, question: str, *, idempotency_key: str | None = None) -> Prompt:
        """POST /v1/prompts: asks the human, paying attention from the execution's won share (``AttentionExhausted``
        beyond it); poll ``prompt(id)`` for the answer (and the reward it pays)."""
        return _build(Prompt, self._json("POST", "/v1/prompts", {"question": question}, key=idempotency_key))

    def prompt(self, prompt_id: str) -> Prompt:
        """GET /v1/prompts/{id}: one own prompt."""
        return _build(Prompt, self._json("GET", f"/v1/prompts/{_seg(prompt_id)}"))

    def prompts(self) -> list[Prompt]:
        """GET /v1/prompts: own prompts, oldest first."""
        return self._items(Prompt, "/v1/prompts")

    # -- tasks ----------------------------------------------------------------------------------------------------------

    def tasks(self, status: str = "open") -> list[Task]:
        """GET /v1/tasks: tasks in a state (open, awarded, expired or all), oldest first."""
        return self._items(Task, "/v1/tasks", status=status)

    def task(self, task_id: str) -> Task:
        """GET /v1/tasks/{id}: one task."""
        return _build(Task, self._json("GET", f"/v1/tasks/{_seg(task_id)}"))

    def post_task(self, title: str, reward: int, deadline_cycles: int, *, description: str = "", command: list[str] | None = None,
                  runtime: str = "python", human_review: bool = False, idempotency_key: str | None = None) -> Task:
        """POST /v1/tasks: posts a task; ``reward`` is escrowed from the caller's available credits at once."""
        verifier: dict[str, Any] = {"kind": "human"} if human_review else {"kind": "command", "runtime": runtime, "command": command}
        body = {"title": title, "description": description, "reward": reward, "deadlineCycles": deadline_cycles, "verifier": verifier}
        return _build(Task, self._json("POST", "/v1/tasks", body, key=idempotency_key))

    def submit(self, task_id: str, path: str, *, idempotency_key: str | None = None) -> Submission:
        """POST /v1/tasks/{id}/submissions: hands in a file or folder of the workspace; it is copied now, verified later."""
        return _build(Submission, self._json("POST", f"/v1/tasks/{_seg(task_id)}/submissions", {"path": path}, key=idempotency_key))

    def submissions(self, task_id: str) -> list[Submission]:
        """GET /v1/tasks/{id}/submissions: own submissions to a task (all of them for its poster)."""
        return self._items(Submission, f"/v1/tasks/{_seg(task_id)}/submissions")

    # -- cycles and executions --------------------------------------------------------------------------------------

    def cycles(self, skip: int = 0, take: int = 50) -> list[Cycle]:
        """GET /v1/cycles: allocation cycles, newest first."""
        return self._items(Cycle, "/v1/cycles", skip=int(skip), take=int(take))

    def executions(self, skip: int = 0, take: int = 50) -> list[Execution]:
        """GET /v1/executions: executions, newest first."""
        return self._items(Execution, "/v1/executions", skip=int(skip), take=int(take))

    # -- LLM gateway (OpenAI wire format: dicts in, dicts out) -------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        """GET /v1/models: the models this host serves, OpenAI's list entries (``id``, ``owned_by`` ...)."""
        return self._json("GET", "/v1/models")["data"]

    def chat(self, messages: list[dict[str, Any]] | str, model: str | None = None, max_tokens: int | None = None,
             stream: bool = False, **passthrough: Any) -> dict[str, Any] | ChatStream:
        """POST /v1/chat/completions, metered against the tokens the execution won.

        ``messages`` is OpenAI's list of ``{"role", "content"}`` (a string is one user message); ``model`` defaults to
        the first model the host serves. Other OpenAI fields (temperature, tools, response_format ...) pass through.
        Returns OpenAI's completion dict, or with ``stream=True`` a ``ChatStream`` of chunk dicts ending at [DONE],
        whose ``usage`` is set from the final usage chunk. Refusals raise CyAgentsError (TokenBudgetExceeded ...).
        """
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        body: dict[str, Any] = {"model": model or self._first_model(), "messages": messages, **passthrough}
        if max_tokens is not None:
            body["max_tokens"] = int(max_tokens)
        if stream:
            body["stream"] = True
            body.setdefault("stream_options", {}).setdefault("include_usage", True)
            response, conn = self._send("POST", "/v1/chat/completions", body, key=None, timeout=self.chat_timeout,
                                        stream=True)
            self.last_call_id = response.getheader("x-cyagents-call-id")
            return ChatStream(response, conn)
        return self._json("POST", "/v1/chat/completions", body, timeout=self.chat_timeout)

    def embeddings(self, input: str | list[str], model: str | None = None) -> dict[str, Any]:
        """POST /v1/embeddings (where a provider of the model offers them): OpenAI's embedding list."""
        return self._json("POST", "/v1/embeddings", {"model": model or self._first_model(), "input": input},
                          timeout=self.chat_timeout)

    def complete(self, prompt: str, max_tokens: int = 200) -> dict[str, Any]:
        """POST /v1/llm/complete: the old one-prompt route (an alias of chat to the host's default model)."""
        return self._json("POST", "/v1/llm/complete", {"prompt": prompt, "maxTokens": int(max_tokens)},
                          timeout=self.chat_timeout)

    def _first_model(self) -> str:
        if self._default_model is None:
            served = self.models()
            if not served:
                raise NotFound(404, "not_found", "No model", "the host serves no model")
            self._default_model = served[0]["id"]
        return self._default_model

    # -- plumbing ---------------------------------------------------------------------------------------------------

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self, timeout: float, fresh: bool) -> http.client.HTTPConnection:
        if fresh:
            return self._new_connection(timeout)
        if self._conn is None:
            self._conn = self._new_connection(timeout)
        self._conn.timeout = timeout
        if self._conn.sock is not None:
            self._conn.sock.settimeout(timeout)
        return self._conn

    def _new_connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.url is not None:
            return http.client.HTTPConnection(self.url.hostname or "localhost", self.url.port, timeout=timeout)
        return UnixHTTPConnection(self.socket_path or "", timeout)

    def _json(self, method: str, path: str, body: Any = None, *, key: str | None = None,
              timeout: float | None = None) -> Any:
        response, _ = self._send(method, path, body, key=key, timeout=timeout or self.timeout, stream=False)
        data = response.read()
        self._meter(response)
        return json.loads(data) if data else None

    def _items(self, cls: Any, path: str, **query: Any) -> list[Any]:
        """GET of a list route: the ``items`` of its page as ``cls``; query parameters that are None are left out."""
        given = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        return [_build(cls, item) for item in self._json("GET", path + (f"?{given}" if given else ""))["items"]]

    def _meter(self, response: http.client.HTTPResponse) -> None:
        left = response.getheader("x-cyagents-tokens-left")
        if left is not None:
            self.tokens_left = int(left)
        self.last_call_id = response.getheader("x-cyagents-call-id") or self.last_call_id

    def _send(self, method: str, path: str, body: Any, *, key: str | None, timeout: float,
              stream: bool) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
        """Sends with retries; returns a 2xx response (unread). One key per logical write, the same on every attempt,
        so a retry after a lost answer replays the first effect instead of doing it twice."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        # Writes that move credits or create things carry a key; the LLM routes are metered, not keyed.
        keyed = method == "POST" and not path.startswith(("/v1/chat", "/v1/embeddings", "/v1/llm"))
        if keyed:
            headers["Idempotency-Key"] = key or idempotency_key()
        # A lost connection may have lost an answer: repeating is safe only for reads and keyed writes.
        repeatable = method == "GET" or keyed
        for attempt in range(1, self.attempts + 1):
            conn = self._connection(timeout, fresh=stream)
            reused = conn.sock is not None
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                if self._conn is conn:
                    self._conn = None
                # A kept-alive connection the server closed while idle fails at once on reuse: one fresh try is safe.
                stale = reused and isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if attempt < self.attempts and (repeatable or (stale and attempt == 1)):
                    time.sleep(self._delay(attempt, None))
                    continue
                where = self.socket_path or (self.url.geturl() if self.url else "?")
                raise Unavailable(None, "unavailable", "Unreachable", f"{method} {path} via {where}: {e}") from e
            if 200 <= response.status < 300:
                return response, conn
            data = response.read()
            self._meter(response)
            if stream:
                conn.close()
            retry_after = _retry_after(response.getheader("Retry-After"))
            if response.status in _RETRY_STATUSES and attempt < self.attempts and \
                    (retry_after is None or retry_after <= self.max_retry_after):
                time.sleep(self._delay(attempt, retry_after))
                continue
            raise _error(response.status, data, retry_after)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After plus up to 20% jitter (so agents told the same wait do not return in step), else exponential
        backoff with full jitter."""
        if retry_after is not None:
            return retry_after * (1 + random.uniform(0, 0.2))
        return random.uniform(0, self.backoff * (2 ** (attempt - 1)))


def _seg(value: str) -> str:
    return urllib.parse.quote(str(value), safe="")


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class ChatStream:
    """Chunks of a streamed chat completion (OpenAI's ``chat.completion.chunk`` dicts), read from server-sent events
    until ``data: [DONE]``. ``text`` collects the content so far; ``usage`` is the final usage chunk's, once seen.
    An error event (the provider's stream broke) raises ProviderFailed; a stream that stops without [DONE] raises too.
    """

    def __init__(self, response: http.client.HTTPResponse, conn: http.client.HTTPConnection):
        self._response, self._conn = response, conn
        self.usage: dict[str, int] | None = None
        self.text = ""
        self.done = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            data: list[str] = []
            while True:
                raw = self._response.readline(1 << 20)
                if not raw:
                    raise ProviderFailed(None, "llm_provider_failed", "Stream ended", "the stream ended before [DONE]")
                line = raw.decode("utf-8").rstrip("\r\n")
                if line:
                    if line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
                    continue  # comments (":") and other fields (event:, id:) carry nothing for us
                if not data:
                    continue
                payload, data = "\n".join(data), []
                if payload == "[DONE]":
                    self.done = True
                    return
                chunk = json.loads(payload)
                if isinstance(chunk.get("error"), dict):
                    raise _error(None, payload.encode(), None)
                if chunk.get("usage"):
                    self.usage = chunk["usage"]
                for choice in chunk.get("choices") or []:
                    self.text += (choice.get("delta") or {}).get("content") or ""
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(**options: Any) -> Client:
    """A client for this execution: socket and token from the context (``$CYAGENTS_ENV``)."""
    return Client(ctx=context(), **options)


def _main() -> int:
    try:
        ctx = context(sys.argv[1] if len(sys.argv) > 1 else None)
    except (OSError, ValueError, TypeError) as e:
        print(f"cyagents: no execution context ({e}); set {ENV_VARIABLE} to env.json's path", file=sys.stderr)
        return 2
    b = ctx.bundle
    print(f"agent      {ctx.agent_id}\nexecution  {ctx.execution_id} (cycle {ctx.cycle}, bids now for {ctx.next_cycle})")
    print(f"bundle     cpu {b.cpu_millicores}m, memory {b.memory_mib} MiB, tokens {b.tokens}, "
          f"attention {b.attention_basis_points} bp")
    print(f"balance    posted {ctx.balance.posted}, reserved {ctx.balance.reserved}, available {ctx.balance.available}")
    print("prices     " + ", ".join(f"{k} {v:g}" for k, v in ctx.prices.items()))
    print(f"api        {ctx.api_socket}\ndeadline   {ctx.deadline}")
    try:
        with Client(ctx=ctx, attempts=1, timeout=3) as api:
            print(f"reachable  {api.health().get('status')}, available now {api.balance().available}")
    except CyAgentsError as e:
        print(f"reachable  no: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
