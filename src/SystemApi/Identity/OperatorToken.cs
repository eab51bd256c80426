using System.Security.Cryptography;
using System.Text;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Logging;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Identity;

/// <summary>
/// The operator's bearer token. Taken from configuration (<c>SystemApi:OperatorToken</c>) when set; otherwise read
/// from <c>SystemApi:OperatorTokenFile</c>, which is created on first start with mode 0600 and the token printed once.
/// </summary>
public sealed class OperatorToken(IOptions<SystemApiOptions> options, ILogger<OperatorToken> log)
{
    private byte[]? _hash;

    /// <summary>Loads or creates the token. Called once at start-up; safe to call again.</summary>
    public void Ensure()
    {
        if (_hash is not null) return;
        var o = options.Value;
        string token;
        if (!string.IsNullOrWhiteSpace(o.OperatorToken))
        {
            token = o.OperatorToken.Trim();
            log.LogInformation("Operator token taken from configuration");
        }
        else if (File.Exists(o.OperatorTokenFile))
        {
            token = File.ReadAllText(o.OperatorTokenFile).Trim();
            if (token.Length < 16)
                throw new InvalidOperationException($"The operator token file {o.OperatorTokenFile} holds no usable token (fewer than 16 characters).");
        }
        else
        {
            token = TokenHash.NewToken();
            var dir = Path.GetDirectoryName(Path.GetFullPath(o.OperatorTokenFile));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            // Created with 0600 from the start: there is no moment at which others could read it.
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(o.OperatorTokenFile, fileOptions))
                stream.Write(Encoding.UTF8.GetBytes(token + "\n"));
            // Shown once on the console, never written to system.log.
            Console.WriteLine($"CyAgents operator token (saved to {Path.GetFullPath(o.OperatorTokenFile)}, shown once): {token}");
            using (log.BeginSystemScope(SystemLog.SystemApi))
                log.LogInformation("Operator token created in {OperatorTokenFile}", o.OperatorTokenFile);
        }
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
    }

    /// <summary>True when <paramref name="token"/> is the operator token (constant-time comparison of hashes).</summary>
    public bool Matches(string token)
    {
        Ensure();
        return CryptographicOperations.FixedTimeEquals(_hash, SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }
}
