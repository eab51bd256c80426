using CyAgents.Economy.Bids;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.Persistence.Schema;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>
/// Schema versions on SQLite, against a database file made by the code before versions were recorded (the fixture).
/// The production list has no step yet, so the upgrade path is proven with test-only steps.
/// </summary>
public sealed class SqliteSchemaTests : IDisposable
{
    private static readonly SchemaMigration AddIndex = new(2, "index on executions by status",
        ["CREATE INDEX \"IX_executions_Status\" ON executions (\"Status\")"],
        ["CREATE INDEX \"IX_executions_Status\" ON executions (\"Status\")"]);

    private static readonly SchemaMigration AddColumn = new(3, "a note on prompts",
        ["ALTER TABLE prompts ADD COLUMN \"Note\" TEXT NULL"],
        ["ALTER TABLE prompts ADD COLUMN \"Note\" TEXT NULL"]);

    public void Dispose() => SqliteConnection.ClearAllPools();

    [Fact]
    public async Task The_fixture_from_before_versions_is_stamped_version_1_and_every_row_reads_through_todays_records()
    {
        var path = SchemaFiles.CopyOfFixture();
        (await DatabaseSetup.ReadVersionAsync(DatabaseOptions.ForSqliteFile(path))).ShouldBeNull();
        var options = DatabaseOptions.ForSqliteFile(path);

        await DatabaseSetup.EnsureCreatedAsync(options);

        (await DatabaseSetup.ReadVersionAsync(options)).ShouldBe(SchemaMigrations.Current);
        await using var db = new CyAgentsDbContext(options.BuildOptions());
        (await db.Set<AgentRecord>().ToListAsync()).Select(a => a.Id).Order().ShouldBe(["alice", "bob", "genesis-0"]);
        var bids = await db.Set<BidRecord>().ToListAsync();
        bids.Count.ShouldBe(5);
        bids.Select(b => b.Status).Distinct().Order().ShouldBe([BidStatus.Open, BidStatus.Won, BidStatus.Lost]);
        bids.Single(b => b.Status == BidStatus.Won && b.AgentId == "alice").Bundle.MemoryMiB.ShouldBe(512);
        (await db.Set<CycleRecord>().ToListAsync()).ShouldAllBe(c => c.Status == CycleStatus.Completed && c.InvariantHeld == true);
        (await db.Set<MarketStateRecord>().CountAsync()).ShouldBe(12);
        (await db.Set<ExecutionRecord>().ToListAsync()).Select(e => e.Status).Order()
            .ShouldBe([ExecutionStatus.Succeeded, ExecutionStatus.Succeeded, ExecutionStatus.Failed]);
        (await db.Set<PromptRecord>().ToListAsync()).Single(p => p.Status == PromptStatus.Answered).Answer.ShouldBe("Not yet.");
        (await db.Set<AgentTokenRecord>().CountAsync()).ShouldBe(1);
        (await db.Set<IdempotencyRecord>().SingleAsync()).StatusCode.ShouldBe(201);
        (await db.Set<LedgerTransferRecord>().CountAsync()).ShouldBe(13);
        (await db.Set<LedgerAccountRecord>().CountAsync()).ShouldBe(5);
        await using var ledger = EfLedger.Open(options);
        (await ledger.CheckConservationAsync()).Holds.ShouldBeTrue();
        (await ledger.GetBalanceAsync(AccountIds.ForAgent("alice"))).Reserved.ShouldBe(50); // the open bid's escrow survived
    }

    [Fact]
    public async Task The_upgraded_fixture_has_the_schema_a_new_database_gets_from_todays_model()
    {
        // Fails when the model changes without a migration step: add the step (and bump the version) with the change.
        var upgraded = SchemaFiles.CopyOfFixture();
        var fresh = SchemaFiles.NewFolderFile();

        await DatabaseSetup.EnsureCreatedAsync(DatabaseOptions.ForSqliteFile(upgraded));
        await DatabaseSetup.EnsureCreatedAsync(DatabaseOptions.ForSqliteFile(fresh));

        SchemaFiles.Describe(upgraded).ShouldBe(SchemaFiles.Describe(fresh));
        (await DatabaseSetup.ReadVersionAsync(DatabaseOptions.ForSqliteFile(fresh))).ShouldBe(SchemaMigrations.Current);
    }

    [Fact]
    public async Task An_old_database_is_upgraded_step_by_step_keeping_its_rows_and_a_second_start_changes_nothing()
    {
        var path = SchemaFiles.CopyOfFixture();
        var options = DatabaseOptions.ForSqliteFile(path);

        await DatabaseSetup.EnsureCreatedAsync(options, [AddIndex, AddColumn]);

        (await DatabaseSetup.ReadVersionAsync(options)).ShouldBe(3);
        var schema = SchemaFiles.Describe(path, withVersionTable: true);
        schema.ShouldContain(l => l.Contains("index IX_executions_Status") && l.EndsWith("(Status)"));
        schema.ShouldContain(l => l.StartsWith("prompts.Note TEXT"));
        await using (var db = new CyAgentsDbContext(options.BuildOptions()))
        {
            (await db.Set<ExecutionRecord>().CountAsync()).ShouldBe(3);
            (await db.Set<PromptRecord>().CountAsync()).ShouldBe(2);
        }
        await DatabaseSetup.EnsureCreatedAsync(options, [AddIndex, AddColumn]);
        SchemaFiles.Describe(path, withVersionTable: true).ShouldBe(schema);
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly");
        connection.Open();
        SchemaFiles.Query(connection, "SELECT \"Version\" FROM schema_version ORDER BY 1").Select(r => (long)r[0]!).ShouldBe([1L, 2L, 3L]);
    }

    [Fact]
    public async Task A_failing_step_is_rolled_back_whole_and_leaves_the_previous_version()
    {
        var path = SchemaFiles.CopyOfFixture();
        var options = DatabaseOptions.ForSqliteFile(path);
        var broken = new SchemaMigration(3, "half a step", ["CREATE TABLE leases (\"Id\" TEXT)", "THIS IS NOT SQL"], ["THIS IS NOT SQL"]);

        await Should.ThrowAsync<SqliteException>(() => DatabaseSetup.EnsureCreatedAsync(options, [AddIndex, broken]));

        (await DatabaseSetup.ReadVersionAsync(options)).ShouldBe(2);
        SchemaFiles.Describe(path).ShouldNotContain(l => l.StartsWith("leases."));
    }

    [Fact]
    public async Task A_database_from_a_newer_release_is_refused_in_one_line_and_not_a_byte_changes()
    {
        var path = SchemaFiles.CopyOfFixture();
        SchemaFiles.StampAs(path, SchemaMigrations.Current + 5);
        var before = SchemaFiles.Hash(path);

        var refused = await Should.ThrowAsync<SchemaVersionException>(() => DatabaseSetup.EnsureCreatedAsync(DatabaseOptions.ForSqliteFile(path)));

        refused.Message.ShouldNotContain('\n');
        refused.Message.ShouldContain($"schema version {SchemaMigrations.Current + 5}");
        refused.Message.ShouldContain("upgrade CyAgents");
        SqliteConnection.ClearAllPools();
        SchemaFiles.Hash(path).ShouldBe(before);
    }

    [Fact]
    public async Task A_file_with_someone_elses_tables_is_refused_unchanged()
    {
        var path = SchemaFiles.NewFolderFile();
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE invoices (id INTEGER)";
            command.ExecuteNonQuery();
        }
        var before = SchemaFiles.Hash(path);

        var refused = await Should.ThrowAsync<SchemaVersionException>(() => DatabaseSetup.EnsureCreatedAsync(DatabaseOptions.ForSqliteFile(path)));

        refused.Message.ShouldContain("none of CyAgents'");
        SqliteConnection.ClearAllPools();
        SchemaFiles.Hash(path).ShouldBe(before);
    }

    [Fact]
    public async Task Checking_a_missing_file_creates_nothing()
    {
        var path = SchemaFiles.NewFolderFile();

        await DatabaseSetup.CheckVersionAsync(DatabaseOptions.ForSqliteFile(path));

        File.Exists(path).ShouldBeFalse();
    }

    [Fact]
    public void Steps_must_number_on_from_the_baseline_without_gaps()
    {
        Should.Throw<InvalidOperationException>(() => SchemaMigrations.CurrentOf([AddColumn])).Message.ShouldContain("expected 2");
        SchemaMigrations.CurrentOf([AddIndex, AddColumn]).ShouldBe(3);
        SchemaMigrations.CurrentOf([]).ShouldBe(SchemaMigrations.Baseline);
    }
}
