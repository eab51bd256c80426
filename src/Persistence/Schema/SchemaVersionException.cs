namespace CyAgents.Persistence.Schema;

/// <summary>
/// The database's schema cannot be used by this build: it is newer than this build knows, or it cannot be brought
/// to the current version. The message is one line that says what to do; the database was not changed.
/// </summary>
public sealed class SchemaVersionException(string message) : Exception(message);
