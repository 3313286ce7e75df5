using System.Security.Cryptography;
using System.Text;
using Sagas.Core.Configuration;

namespace Sagas.Storage.Local;

/// <summary>The HMAC key for local download links: configured, or generated once and kept in the data folder.</summary>
internal static class LocalSigningKey
{
    private const int GeneratedKeyBytes = 32;

    public static byte[] Resolve(LocalStorageOptions options, string contentRoot)
    {
        if (!string.IsNullOrEmpty(options.SigningKey))
            return Encoding.UTF8.GetBytes(options.SigningKey);

        var path = Path.GetFullPath(Path.Combine(contentRoot, options.SigningKeyFile));
        return File.Exists(path) ? ReadKeyFile(path) : CreateKeyFile(path);
    }

    private static byte[] CreateKeyFile(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var writer = new StreamWriter(temporary, Encoding.ASCII, options))
            writer.Write(Convert.ToBase64String(RandomNumberGenerator.GetBytes(GeneratedKeyBytes)));

        try
        {
            // API and workers may start together on one data folder: the first rename wins, everyone reads the winner.
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
        }

        return ReadKeyFile(path);
    }

    private static byte[] ReadKeyFile(string path)
    {
        var text = File.ReadAllText(path).Trim();
        try
        {
            var key = Convert.FromBase64String(text);
            if (key.Length >= GeneratedKeyBytes)
                return key;
        }
        catch (FormatException)
        {
        }

        throw new SagasConfigurationException(
            $"The link signing key file {path} does not hold a base64 key of at least {GeneratedKeyBytes} bytes. " +
            "Delete it to have a new one generated (existing download links stop working), or set Storage:Local:SigningKey.");
    }
}
