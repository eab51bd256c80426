"""A small market agent: bid a share of the balance each cycle, do the simple open tasks and hand them in, spawn one
child from its own code when rich, ask the human once, consult the LLM when the bundle won has tokens. Copy this folder and change what you like: the folder is
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
TASKS_PER_TURN = knob("TASKS_PER_TURN", 4)           # hand in at most this many tasks per execution (the API keeps 4 waiting)
BUNDLE = cyagents.Bundle(cpu_millicores=250, memory_mib=64)  # what one execution needs: python starts in ~20 MiB
QUESTION = "I am a python agent. Which resource should I save credits for?"

JOURNAL = pathlib.Path("journal.txt")  # /workspace is the working directory and survives between executions
STATE = pathlib.Path("state.json")


def note(line):
    """Appends to the journal, keeping only its last 200 lines: the workspace has a quota."""
    lines = JOURNAL.read_text().splitlines()[-199:] if JOURNAL.exists() else []
    JOURNAL.write_text("\n".join(lines + [line]) + "\n")
    print(line)


# Task text is written by whoever posted the task (any agent may): never trust it with a path. A task's file must be a
# plain new name in this folder, not one of our own files, and both name and content are bounded.
MAX_NAME, MAX_CONTENT = 64, 4096
OWN_FILES = {"agent.json", "agent.py", "cyagents.py", "state.json", "journal.txt", "env.json", "readme.md",
             "strategy.json", "memory.json", "journal"}
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")


def plain_file_name(name):
    """1-64 letters, digits, '.', '-', '_', not hidden, not ours: no way out of the folder, none into a sub-folder."""
    return 0 < len(name) <= MAX_NAME and name[0] != "." and set(name) <= NAME_CHARS and name.lower() not in OWN_FILES


def parse_task(description):
    """(file, content) from exactly one "file:" and one "content:" line (as in tasks/feed.json), else None."""
    if not description or len(description) > 65536:
        return None
    found = {}
    for line in description.split("\n"):
        for key in ("file:", "content:"):
            if line.lower().startswith(key):
                if key in found:
                    return None  # two answers to one question: not a task to do mechanically
                found[key] = line[len(key):].strip()
    name, content = found.get("file:"), found.get("content:")
    if name is None or content is None or not plain_file_name(name) or len(content) > MAX_CONTENT:
        return None
    return name, content


def occupied(name, content):
    """Something at ``name`` a task must not overwrite: anything but a small regular file already holding ``content``."""
    path = pathlib.Path(name)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        return True
    if not path.exists():
        return False
    return path.stat().st_size > 4 * MAX_CONTENT or path.read_text(encoding="utf-8", errors="replace") != content


def choose_tasks(tasks, me, submitted, task_files, is_occupied, limit):
    """Open tasks we can do, best paid first: not our own, not handed in before, each to a file we may write."""
    chosen, names = [], set()
    for task in sorted(tasks, key=lambda t: (-t.reward, t.id)):
        if len(chosen) >= limit:
            break
        if task.state != "Open" or task.poster_agent_id == me or task.id in submitted:
            continue
        parsed = parse_task(task.description)
        if parsed is None or parsed[0] in names:
            continue
        name, content = parsed
        if name not in task_files and is_occupied(name, content):
            continue
        names.add(name)
        chosen.append((task, name, content))
    return chosen


def do_tasks(api, me, state):
    """Writes and hands in each chosen task's file. The key is ours and the task's (not the execution's), so a rerun after
    a crash replays the first submission; closed, limited or refused tasks are done for good, other errors retried."""
    submitted, task_files = set(state.get("submitted", [])), set(state.get("task_files", []))
    try:
        tasks = api.tasks()
    except cyagents.CyAgentsError as e:
        note(f"  no tasks this turn: {e.code}")
        return
    for task, name, content in choose_tasks(tasks, me.id, submitted, task_files, occupied, TASKS_PER_TURN):
        pathlib.Path(name).write_text(content, encoding="utf-8")
        task_files.add(name)
        try:
            submission = api.submit(task.id, name, idempotency_key=cyagents.idempotency_key(me.id, "task", task.id))
            submitted.add(task.id)
            note(f"  handed in {name} for task {task.id} ({task.reward} credits): {submission.id}")
        except (cyagents.TaskClosed, cyagents.SubmissionLimit, cyagents.SubmissionRefused) as e:
            submitted.add(task.id)
            note(f"  task {task.id} not handed in: {e.code}")
        except cyagents.CyAgentsError as e:
            note(f"  task {task.id}: will try again ({e.code})")
    state["submitted"], state["task_files"] = sorted(submitted), sorted(task_files)


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

    # 2. Paid work: children do it too (their state.json starts afresh, see above).
    do_tasks(api, me, state)
    STATE.write_text(json.dumps(state))

    if is_child:
        return  # children only bid and work

    # 3. Spawn one child, once, from this very workspace (no template: the child runs this code).
    if not state.get("child") and api.balance().available >= SPAWN_AT + CHILD_ENDOWMENT:
        try:
            child = api.spawn(f"{me.name}-child", CHILD_ENDOWMENT,
                              idempotency_key=cyagents.idempotency_key(me.id, "first-child"))
            state["child"] = child.agent.id
            note(f"  spawned {child.agent.id} with {child.endowment} credits (fee {child.fee})")
        except cyagents.CyAgentsError as e:
            note(f"  no spawn: {e.code} {e.detail}")

    # 4. Ask the human once; later executions look for the answer.
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

    # 5. Consult the LLM only when this execution won tokens for it.
    if ctx.bundle.tokens > 0:
        try:
            answer = api.chat(f"Prices: {ctx.prices}. One word: which resource is cheapest?", max_tokens=16)
            note(f"  llm: {answer['choices'][0]['message']['content'][:80]!r} ({api.tokens_left} tokens left)")
        except cyagents.CyAgentsError as e:
            note(f"  llm refused: {e.code}")

    STATE.write_text(json.dumps(state))


if __name__ == "__main__":
    main()
