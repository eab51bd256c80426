using System.Collections.Concurrent;
using System.Data.Common;
using CyAgents.Persistence.Events;
using CyAgents.Persistence.Records;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace CyAgents.SystemApi.Llm;

/// <summary>
/// The settlement of one LLM call as three hand-written statements in the write's own transaction: the charge added to
/// <see cref="ExecutionRecord.TokensUsed"/> (in the database, so concurrent settlements cannot lose an update), the call's
/// <c>llm_calls</c> row and its <c>llm.call</c> event. EF's change tracking and SaveChanges cost about 1.1 ms per call
/// here, half the gateway's latency budget (ADR 0124); these statements cost a few tens of microseconds. Table and column
/// names, quoting and parameter conversions all come from the EF model of the context, so they stay what EF itself
/// would write, on SQLite and PostgreSQL alike.
/// </summary>
internal sealed class SettlementStatements
{
    private static readonly ConcurrentDictionary<IModel, SettlementStatements> Built = new();
    private readonly string _charge;
    private readonly RowInsert _call, _event;

    private SettlementStatements(DbContext db)
    {
        var sql = db.GetService<ISqlGenerationHelper>();
        var execution = db.Model.FindEntityType(typeof(ExecutionRecord))!;
        var table = StoreObjectIdentifier.Table(execution.GetTableName()!, execution.GetSchema());
        string Column(string property) => sql.DelimitIdentifier(execution.FindProperty(property)!.GetColumnName(table)!);
        var used = Column(nameof(ExecutionRecord.TokensUsed));
        // The won tokens' column is the bundle's "Tokens" (BundleColumns), behind ExecutionRecord.Granted.
        _charge = $"UPDATE {sql.DelimitIdentifier(table.Name, table.Schema)} SET {used} = {used} + @charge " +
                  $"WHERE {Column(nameof(ExecutionRecord.Id))} = @id RETURNING {used}, {Column("Tokens")}";
        _call = new RowInsert(db, typeof(LlmCallRecord), sql);
        _event = new RowInsert(db, typeof(EventRecord), sql);
    }

    /// <summary>The statements for <paramref name="db"/>'s model (built once per model).</summary>
    public static SettlementStatements For(DbContext db) => Built.GetOrAdd(db.Model, _ => new SettlementStatements(db));

    /// <summary>
    /// Charges <paramref name="call"/>'s tokens to its execution and inserts the call and its event, in
    /// <paramref name="db"/>'s open transaction. Returns the execution's meter as committed with it.
    /// </summary>
    public async Task<TokenMeterReading> SettleAsync(DbContext db, LlmCallRecord call, EventRecord callEvent, CancellationToken ct)
    {
        var connection = db.Database.GetDbConnection();
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction()
                          ?? throw new InvalidOperationException("a settlement runs inside the writer's transaction");
        TokenMeterReading reading;
        await using (var charge = connection.CreateCommand())
        {
            charge.Transaction = transaction;
            charge.CommandText = _charge;
            Add(charge, "@charge", call.ChargedTokens);
            Add(charge, "@id", call.ExecutionId);
            await using var row = await charge.ExecuteReaderAsync(ct);
            if (!await row.ReadAsync(ct)) throw new InvalidOperationException($"no execution record '{call.ExecutionId}' to charge");
            reading = new TokenMeterReading(row.GetInt64(0), row.GetInt64(1));
        }
        await _call.RunAsync(connection, transaction, call, ct);
        await _event.RunAsync(connection, transaction, callEvent, ct);
        return reading;
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        command.Parameters.Add(p);
    }

    /// <summary>An INSERT of every column of one entity type that the database does not generate, bound through EF's type mappings.</summary>
    private sealed class RowInsert
    {
        private readonly string _text;
        private readonly (IProperty Property, RelationalTypeMapping Mapping, string Parameter)[] _columns;

        public RowInsert(DbContext db, Type clrType, ISqlGenerationHelper sql)
        {
            var entity = db.Model.FindEntityType(clrType)!;
            var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
            _columns = entity.GetProperties()
                .Where(p => p.ValueGenerated == ValueGenerated.Never)
                .Select((p, i) => (p, (RelationalTypeMapping)p.GetRelationalTypeMapping(), sql.GenerateParameterName("p" + i)))
                .ToArray();
            _text = $"INSERT INTO {sql.DelimitIdentifier(table.Name, table.Schema)} " +
                    $"({string.Join(", ", _columns.Select(c => sql.DelimitIdentifier(c.Property.GetColumnName(table)!)))}) " +
                    $"VALUES ({string.Join(", ", _columns.Select(c => c.Parameter))})";
        }

        public async Task RunAsync(DbConnection connection, DbTransaction transaction, object row, CancellationToken ct)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = _text;
            foreach (var (property, mapping, parameter) in _columns)
                // The mapping converts as EF does on save (enums to integers, DateTimeOffset to SQLite's text form ...).
                command.Parameters.Add(mapping.CreateParameter(command, parameter, property.PropertyInfo!.GetValue(row), property.IsNullable));
            await command.ExecuteNonQueryAsync(ct);
        }
    }
}
