namespace CyAgents.Persistence.Schema;

/// <summary>
/// The schema's history after the baseline. Version 1 is the schema the EF model created before versions were
/// recorded (issue 8); each later change of the model adds one <see cref="SchemaMigration"/> here, with the same
/// change made to the records, so a new database (created from the model) and an upgraded one end up alike
/// (the schema tests compare them).
/// </summary>
public static class SchemaMigrations
{
    /// <summary>The version of the schema before any migration: what <c>EnsureCreated</c> made up to issue 8.</summary>
    public const int Baseline = 1;

    /// <summary>The steps after the baseline, in order (versions 2, 3, ...).</summary>
    public static IReadOnlyList<SchemaMigration> All { get; } = [LlmCalls, AgentManifests, AgentUids, Events, AuditCheckpoints, PromptAttention, Tasks];

    // Version 2 (issue 11): a row per LLM gateway call. IF NOT EXISTS because a database made by EnsureCreated from a
    // model that already had the table (tests build "before versions" databases that way) must upgrade too.
    private static SchemaMigration LlmCalls => new(2, "llm_calls: one row per LLM gateway call",
    [
        """
        CREATE TABLE IF NOT EXISTS "llm_calls" (
            "Id" TEXT NOT NULL CONSTRAINT "PK_llm_calls" PRIMARY KEY,
            "ExecutionId" TEXT NOT NULL, "AgentId" TEXT NOT NULL, "Cycle" INTEGER NOT NULL, "Model" TEXT NOT NULL,
            "Provider" TEXT NULL, "Route" TEXT NOT NULL, "Stream" INTEGER NOT NULL, "PromptTokens" INTEGER NOT NULL,
            "CompletionTokens" INTEGER NOT NULL, "ReservedTokens" INTEGER NOT NULL, "ChargedTokens" INTEGER NOT NULL,
            "Attempts" INTEGER NOT NULL, "LatencyMs" INTEGER NOT NULL, "Outcome" INTEGER NOT NULL, "Error" TEXT NULL,
            "StartedAt" TEXT NOT NULL)
        """,
        """CREATE INDEX IF NOT EXISTS "IX_llm_calls_AgentId" ON "llm_calls" ("AgentId")""",
        """CREATE INDEX IF NOT EXISTS "IX_llm_calls_ExecutionId" ON "llm_calls" ("ExecutionId")""",
    ],
    [
        """
        CREATE TABLE IF NOT EXISTS "llm_calls" (
            "Id" character varying(64) NOT NULL CONSTRAINT "PK_llm_calls" PRIMARY KEY,
            "ExecutionId" character varying(64) NOT NULL, "AgentId" character varying(64) NOT NULL, "Cycle" bigint NOT NULL,
            "Model" character varying(200) NOT NULL, "Provider" character varying(100) NULL, "Route" character varying(20) NOT NULL,
            "Stream" boolean NOT NULL, "PromptTokens" bigint NOT NULL, "CompletionTokens" bigint NOT NULL,
            "ReservedTokens" bigint NOT NULL, "ChargedTokens" bigint NOT NULL, "Attempts" integer NOT NULL,
            "LatencyMs" bigint NOT NULL, "Outcome" integer NOT NULL, "Error" character varying(500) NULL,
            "StartedAt" timestamp with time zone NOT NULL)
        """,
        """CREATE INDEX IF NOT EXISTS "IX_llm_calls_AgentId" ON "llm_calls" ("AgentId")""",
        """CREATE INDEX IF NOT EXISTS "IX_llm_calls_ExecutionId" ON "llm_calls" ("ExecutionId")""",
    ]);

    // Version 3 (issue 10): each agent's manifest, fixed at creation. Existing agents get null: the Genesis default.
    private static SchemaMigration AgentManifests => new(3, "agents.ManifestJson: the agent's manifest, fixed at creation",
        ["""ALTER TABLE "agents" ADD COLUMN "ManifestJson" TEXT NULL"""],
        ["""ALTER TABLE "agents" ADD COLUMN IF NOT EXISTS "ManifestJson" text NULL"""]);
    // Version 4 (issue 9): the host uid of each agent, assigned once and never reused (ADR 0071).
    private static SchemaMigration AgentUids => new(4, "agent_uids: each agent's own host uid",
    [
        """
        CREATE TABLE IF NOT EXISTS "agent_uids" (
            "AgentId" TEXT NOT NULL CONSTRAINT "PK_agent_uids" PRIMARY KEY,
            "Uid" INTEGER NOT NULL, "AssignedAt" TEXT NOT NULL)
        """,
        """CREATE UNIQUE INDEX IF NOT EXISTS "IX_agent_uids_Uid" ON "agent_uids" ("Uid")""",
    ],
    [
        """
        CREATE TABLE IF NOT EXISTS "agent_uids" (
            "AgentId" character varying(64) NOT NULL CONSTRAINT "PK_agent_uids" PRIMARY KEY,
            "Uid" integer NOT NULL, "AssignedAt" timestamp with time zone NOT NULL)
        """,
        """CREATE UNIQUE INDEX IF NOT EXISTS "IX_agent_uids_Uid" ON "agent_uids" ("Uid")""",
    ]);

    // Version 5 (issue 13): the event stream's table; Seq is the SSE id clients resume from (ADR 0111).
    private static SchemaMigration Events => new(5, "events: the event stream, one row per event with its sequence number",
    [
        """
        CREATE TABLE IF NOT EXISTS "events" (
            "Seq" INTEGER NOT NULL CONSTRAINT "PK_events" PRIMARY KEY AUTOINCREMENT,
            "Type" TEXT NOT NULL, "AgentId" TEXT NULL, "Cycle" INTEGER NULL, "At" TEXT NOT NULL, "Data" TEXT NOT NULL)
        """,
        """CREATE INDEX IF NOT EXISTS "IX_events_AgentId_Seq" ON "events" ("AgentId", "Seq")""",
    ],
    [
        """
        CREATE TABLE IF NOT EXISTS "events" (
            "Seq" bigint GENERATED BY DEFAULT AS IDENTITY CONSTRAINT "PK_events" PRIMARY KEY,
            "Type" character varying(64) NOT NULL, "AgentId" character varying(64) NULL, "Cycle" bigint NULL,
            "At" timestamp with time zone NOT NULL, "Data" text NOT NULL)
        """,
        """CREATE INDEX IF NOT EXISTS "IX_events_AgentId_Seq" ON "events" ("AgentId", "Seq")""",
    ]);

    // Version 6 (issue 13): checkpoints of system.log's hash chain, which `audit verify` compares the log with (ADR 0131).
    private static SchemaMigration AuditCheckpoints => new(6, "audit_checkpoints: the hash of a system.log line every N lines and at cycle end",
    [
        """
        CREATE TABLE IF NOT EXISTS "audit_checkpoints" (
            "Id" INTEGER NOT NULL CONSTRAINT "PK_audit_checkpoints" PRIMARY KEY AUTOINCREMENT,
            "File" TEXT NOT NULL, "Line" INTEGER NOT NULL, "Offset" INTEGER NOT NULL, "Hash" TEXT NOT NULL, "At" TEXT NOT NULL)
        """,
    ],
    [
        """
        CREATE TABLE IF NOT EXISTS "audit_checkpoints" (
            "Id" bigint GENERATED BY DEFAULT AS IDENTITY CONSTRAINT "PK_audit_checkpoints" PRIMARY KEY,
            "File" character varying(255) NOT NULL, "Line" bigint NOT NULL, "Offset" bigint NOT NULL,
            "Hash" character varying(64) NOT NULL, "At" timestamp with time zone NOT NULL)
        """,
    ]);

    // Version 7 (issue 12): what each prompt cost of its execution's attention (ADR 0135), when it expired, and the index the
    // per-execution sum reads. Prompts asked before attention bound cost 0.
    private static SchemaMigration PromptAttention => new(7, "prompts.Attention and prompts.ExpiredCycle: attention that binds, prompts that expire",
    [
        """ALTER TABLE "prompts" ADD COLUMN "Attention" INTEGER NOT NULL DEFAULT 0""",
        """ALTER TABLE "prompts" ADD COLUMN "ExpiredCycle" INTEGER NULL""",
        """CREATE INDEX IF NOT EXISTS "IX_prompts_ExecutionId" ON "prompts" ("ExecutionId")""",
    ],
    [
        """ALTER TABLE "prompts" ADD COLUMN IF NOT EXISTS "Attention" bigint NOT NULL DEFAULT 0""",
        """ALTER TABLE "prompts" ADD COLUMN IF NOT EXISTS "ExpiredCycle" bigint NULL""",
        """CREATE INDEX IF NOT EXISTS "IX_prompts_ExecutionId" ON "prompts" ("ExecutionId")""",
    ]);

    // Version 8 (issue 12): tasks with escrowed rewards and the submissions made for them (ADR 0132).
    private static SchemaMigration Tasks => new(8, "tasks and task_submissions: tasks that pay, and the work handed in",
    [
        """
        CREATE TABLE IF NOT EXISTS "tasks" (
            "Id" TEXT NOT NULL CONSTRAINT "PK_tasks" PRIMARY KEY,
            "Title" TEXT NOT NULL, "Description" TEXT NOT NULL, "Reward" INTEGER NOT NULL, "PosterAgentId" TEXT NULL,
            "PostedCycle" INTEGER NOT NULL, "DeadlineCycle" INTEGER NOT NULL, "Verifier" INTEGER NOT NULL, "VerifierRuntime" TEXT NULL,
            "VerifierCommandJson" TEXT NULL, "State" INTEGER NOT NULL, "WinnerSubmissionId" TEXT NULL, "WinnerAgentId" TEXT NULL,
            "EscrowTransferId" TEXT NOT NULL, "CreatedAt" TEXT NOT NULL, "ClosedAt" TEXT NULL)
        """,
        """CREATE INDEX IF NOT EXISTS "IX_tasks_State_DeadlineCycle" ON "tasks" ("State", "DeadlineCycle")""",
        """
        CREATE TABLE IF NOT EXISTS "task_submissions" (
            "Id" TEXT NOT NULL CONSTRAINT "PK_task_submissions" PRIMARY KEY,
            "TaskId" TEXT NOT NULL, "AgentId" TEXT NOT NULL, "ExecutionId" TEXT NULL, "Cycle" INTEGER NOT NULL, "Path" TEXT NOT NULL,
            "Files" INTEGER NOT NULL, "Bytes" INTEGER NOT NULL, "State" INTEGER NOT NULL, "ExitCode" INTEGER NULL, "Verdict" TEXT NULL,
            "CreatedAt" TEXT NOT NULL, "JudgedAt" TEXT NULL)
        """,
        """CREATE INDEX IF NOT EXISTS "IX_task_submissions_State" ON "task_submissions" ("State")""",
        """CREATE INDEX IF NOT EXISTS "IX_task_submissions_TaskId_AgentId" ON "task_submissions" ("TaskId", "AgentId")""",
    ],
    [
        """
        CREATE TABLE IF NOT EXISTS "tasks" (
            "Id" character varying(64) NOT NULL CONSTRAINT "PK_tasks" PRIMARY KEY,
            "Title" character varying(200) NOT NULL, "Description" text NOT NULL, "Reward" bigint NOT NULL,
            "PosterAgentId" character varying(64) NULL, "PostedCycle" bigint NOT NULL, "DeadlineCycle" bigint NOT NULL,
            "Verifier" integer NOT NULL, "VerifierRuntime" character varying(32) NULL, "VerifierCommandJson" text NULL,
            "State" integer NOT NULL, "WinnerSubmissionId" character varying(64) NULL, "WinnerAgentId" character varying(64) NULL,
            "EscrowTransferId" character varying(128) NOT NULL, "CreatedAt" timestamp with time zone NOT NULL,
            "ClosedAt" timestamp with time zone NULL)
        """,
        """CREATE INDEX IF NOT EXISTS "IX_tasks_State_DeadlineCycle" ON "tasks" ("State", "DeadlineCycle")""",
        """
        CREATE TABLE IF NOT EXISTS "task_submissions" (
            "Id" character varying(64) NOT NULL CONSTRAINT "PK_task_submissions" PRIMARY KEY,
            "TaskId" character varying(64) NOT NULL, "AgentId" character varying(64) NOT NULL, "ExecutionId" character varying(64) NULL,
            "Cycle" bigint NOT NULL, "Path" character varying(1024) NOT NULL, "Files" integer NOT NULL, "Bytes" bigint NOT NULL,
            "State" integer NOT NULL, "ExitCode" integer NULL, "Verdict" character varying(4096) NULL,
            "CreatedAt" timestamp with time zone NOT NULL, "JudgedAt" timestamp with time zone NULL)
        """,
        """CREATE INDEX IF NOT EXISTS "IX_task_submissions_State" ON "task_submissions" ("State")""",
        """CREATE INDEX IF NOT EXISTS "IX_task_submissions_TaskId_AgentId" ON "task_submissions" ("TaskId", "AgentId")""",
    ]);

    /// <summary>The version this build creates and upgrades to.</summary>
    public static int Current => CurrentOf(All);

    /// <summary>The version a list of steps leads to; checks they number on from the baseline without gaps.</summary>
    internal static int CurrentOf(IReadOnlyList<SchemaMigration> steps)
    {
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i].Version != Baseline + 1 + i)
                throw new InvalidOperationException(
                    $"schema migration '{steps[i].Description}' has version {steps[i].Version}; expected {Baseline + 1 + i} (steps number on from {Baseline} without gaps)");
        }
        return Baseline + steps.Count;
    }
}
