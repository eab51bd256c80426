using Npgsql;

namespace CyAgents.Persistence.Tests.Schema;

/// <summary>Plain-SQL helpers for the PostgreSQL upgrade tests: what a table looks like, and a statement run outside EF.</summary>
internal static class PostgresTable
{
    /// <summary>The table's columns (name, type, length, nullability) and index definitions, sorted, at least <paramref name="atLeast"/> + 1 lines.</summary>
    public static async Task<List<string>> DescribeAsync(string connection, string table, int atLeast)
    {
        await using var conn = new NpgsqlConnection(connection);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("""
            SELECT column_name || ' ' || data_type || ' ' || coalesce(character_maximum_length::text, '-') || ' ' || is_nullable
            FROM information_schema.columns WHERE table_name = @table
            UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE tablename = @table
            """, conn);
        cmd.Parameters.AddWithValue("table", table);
        var lines = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) lines.Add(reader.GetString(0));
        lines.Sort(StringComparer.Ordinal);
        lines.Count.ShouldBeGreaterThan(atLeast);
        return lines;
    }

    /// <summary>Runs one statement on its own connection.</summary>
    public static async Task ExecuteAsync(string connection, string sql)
    {
        await using var conn = new NpgsqlConnection(connection);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }
}
