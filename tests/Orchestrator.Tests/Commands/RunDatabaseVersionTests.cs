using System.Diagnostics;
using System.Security.Cryptography;
using CyAgents.Orchestrator.Commands;
using CyAgents.Persistence;
using CyAgents.Persistence.Schema;
using Microsoft.Data.Sqlite;

namespace CyAgents.Orchestrator.Tests.Commands;

public sealed class RunDatabaseVersionTests
{
    [Fact]
    public async Task Run_on_a_database_from_a_newer_release_says_upgrade_in_one_line_exits_with_the_database_code_and_changes_no_byte()
    {
        var root = Directory.CreateTempSubdirectory("cyagents-future-").FullName;
        var path = Path.Combine(root, "cyagents.db");
        await DatabaseSetup.EnsureCreatedAsync(DatabaseOptions.ForSqliteFile(path));
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"INSERT INTO schema_version VALUES ({SchemaMigrations.Current + 1}, 'from the future', '2030-01-01')";
            await command.ExecuteNonQueryAsync();
        }
        SqliteConnection.ClearAllPools();
        var before = (Hash(path), Hash(path + "-wal"));
        var data = Path.Combine(root, "data");

        // The engine socket does not exist: the database is refused before the engine is asked.
        var (exit, stderr) = await RunAsync("run", "--db", path, "--data", data, "--engine", "/nonexistent/docker.sock", "--cycles", "1");

        exit.ShouldBe(ExitCodes.Database);
        var line = stderr.Trim().Split('\n').ShouldHaveSingleItem();
        line.ShouldStartWith("cyagents run:");
        line.ShouldContain("upgrade CyAgents");
        (Hash(path), Hash(path + "-wal")).ShouldBe(before);
        Directory.Exists(data).ShouldBeFalse();
    }

    private static string Hash(string file) => File.Exists(file) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))) : "absent";

    private static async Task<(int ExitCode, string Stderr)> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "cyagents.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stderr);
    }
}
