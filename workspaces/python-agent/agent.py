"""A small market agent: bid a share of the balance each cycle, spawn one child from its own code when rich, ask the
human once, consult the LLM when the bundle won has tokens. Copy this folder and change what you like: the folder is
the agent's workspace, so its code (this file) travels to its children too. SDK reference: docs/sdk.md."""

import json
import os
import pathlib

import cyagents  # ships inside the python runtime; nothing to install

# Knobs. Environment variables (agent.json "env") override them, so a copy can be tuned without editing code.
def knob(name, default):
    return int(os.environ.get(name, default))

BID_SHARE_PERCENT = knob("BID_SHARE_PERCENT", 5)  # offer this share of the available balance ...
BID_CAP = knob("BID_CAP", 500)                     # ... but never more than this many credits per cycle
SPAWN_AT = knob("SPAWN_AT", 3000)                  # spawn one child once this rich (children never spawn)
CHILD_ENDOWMENT = knob("CHILD_ENDOWMENT", 500)
BUNDLE = cyagents.Bundle(cpu_millicores=250, memory_mib=64)  # what one execution needs: python starts in ~20 MiB
QUESTION = "I am a python agent. Which resource should I save credits for?"

JOURNAL = pathlib.Path("journal.txt")  # /workspace is the working directory and survives between executions
STATE = pathlib.Path("state.json")


def note(line):
    """Appends to the journal, keeping only its last 200 lines: the workspace has a quota."""
    lines = JOURNAL.read_text().splitlines()[-199:] if JOURNAL.exists() else []
    JOURNAL.write_text("\n".join(lines + [line]) + "\n")
    print(line)


def main():
    api = cyagents.connect()
    ctx = api.ctx
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    me = api.me()
    # A child's workspace is a copy of ours, state.json included: who we are comes from the API, not the file.
    is_child = me.parent_id is not None
    if state.get("agent") != me.id:
        state = {"agent": me.id}
    note(f"cycle {ctx.cycle}: {me.name} ({'child' if is_child else 'root'}), {ctx.balance.available} credits at start")

    # 1. Bid first: the deadline may cut the rest short. The key makes a rerun in this execution replay, not re-bid.
    prices = api.prices()
    available = api.balance().available
    amount = min(available * BID_SHARE_PERCENT // 100, BID_CAP)
    amount = max(amount, prices.cost_of(BUNDLE))  # below the posted price a bid cannot win
    if amount <= available:
        try:
            bid = api.bid(BUNDLE, amount, idempotency_key=cyagents.idempotency_key(ctx.execution_id, "bid"))
            note(f"  bid {bid.amount} for cycle {bid.cycle} (posted price {prices.cost_of(BUNDLE)})")
        except cyagents.CyAgentsError as e:
            note(f"  no bid: {e.code} {e.detail}")
    else:
        note(f"  too poor to bid: {available} < {amount}")

    if is_child:
        return  # children only bid

    # 2. Spawn one child, once, from this very workspace (no template: the child runs this code).
    if not state.get("child") and api.balance().available >= SPAWN_AT + CHILD_ENDOWMENT:
        try:
            child = api.spawn(f"{me.name}-child", CHILD_ENDOWMENT,
                              idempotency_key=cyagents.idempotency_key(me.id, "first-child"))
            state["child"] = child.agent.id
            note(f"  spawned {child.agent.id} with {child.endowment} credits (fee {child.fee})")
        except cyagents.CyAgentsError as e:
            note(f"  no spawn: {e.code} {e.detail}")

    # 3. Ask the human once; later executions look for the answer.
    # A prompt costs attention from what this execution won (the entry bid in agent.json buys 200 bp: one short question).
    if "prompt" not in state:
        try:
            state["prompt"] = api.ask(QUESTION, idempotency_key=cyagents.idempotency_key(me.id, "question")).id
            note("  asked the human")
        except cyagents.AttentionExhausted as e:
            note(f"  did not ask: {e.detail}")
    elif not state.get("answered"):
        prompt = api.prompt(state["prompt"])
        if prompt.status == "Answered":
            state["answered"] = True
            note(f"  the human answered: {prompt.answer!r} (+{prompt.reward} credits)")

    # 4. Consult the LLM only when this execution won tokens for it.
    if ctx.bundle.tokens > 0:
        try:
            answer = api.chat(f"Prices: {ctx.prices}. One word: which resource is cheapest?", max_tokens=16)
            note(f"  llm: {answer['choices'][0]['message']['content'][:80]!r} ({api.tokens_left} tokens left)")
        except cyagents.CyAgentsError as e:
            note(f"  llm refused: {e.code}")

    STATE.write_text(json.dumps(state))


if __name__ == "__main__":
    main()
