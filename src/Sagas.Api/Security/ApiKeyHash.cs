using System.Security.Cryptography;
using System.Text;

namespace Sagas.Api.Security;

public static class ApiKeyHash
{
    public static string Compute(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static bool Matches(string presentedKey, string expectedHashHex)
    {
        byte[] expected;
        try
        {
            expected = Convert.FromHexString(expectedHashHex);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey)), expected);
    }
}
