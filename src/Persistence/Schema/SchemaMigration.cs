namespace CyAgents.Persistence.Schema;

/// <summary>
/// One hand-written step of the schema, from <see cref="Version"/> - 1 to <see cref="Version"/>: the SQL for each
/// provider, run in one transaction with the version bump, so a step is applied entirely or not at all.
/// </summary>
/// <param name="Version">The version this step produces (2 for the first step after the baseline).</param>
/// <param name="Description">What the step changes, in a few words; stored with the version.</param>
/// <param name="Sqlite">The statements for SQLite, in order.</param>
/// <param name="Postgres">The statements for PostgreSQL, in order.</param>
public sealed record SchemaMigration(int Version, string Description, IReadOnlyList<string> Sqlite, IReadOnlyList<string> Postgres)
{
    /// <summary>The statements for the given provider.</summary>
    public IReadOnlyList<string> For(DatabaseOptions options) => options.IsPostgres ? Postgres : Sqlite;
}
