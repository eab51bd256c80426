using System.Security.Cryptography;
using System.Text;

namespace CyAgents.SystemApi.Identity;

/// <summary>Tokens are stored and compared only as their SHA-256; a stolen database yields no usable token.</summary>
internal static class TokenHash
{
    public static string Of(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>256 random bits, URL-safe base64 (43 characters).</summary>
    public static string NewToken() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
