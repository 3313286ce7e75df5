using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;

namespace Sagas.Storage;

public enum StorageProvider
{
    Local,
    S3,
}

/// <summary>Section "Storage": where uploads and reports are kept.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>Local (embedded default) or S3.</summary>
    public string Provider { get; set; } = nameof(StorageProvider.Local);

    public LocalStorageOptions Local { get; set; } = new();

    public S3StorageOptions S3 { get; set; } = new();

    public StorageProvider ParseProvider() => ConfiguredName.Parse<StorageProvider>(Provider, $"{SectionName}:{nameof(Provider)}");

    public static StorageOptions Read(IConfiguration configuration)
    {
        var options = new StorageOptions();
        configuration.GetSection(SectionName).Bind(options);
        return options;
    }

    /// <summary>Checks the settings of the chosen provider; throws <see cref="SagasConfigurationException"/> naming the setting to fix.</summary>
    public StorageProvider Validate()
    {
        var provider = ParseProvider();
        switch (provider)
        {
            case StorageProvider.Local:
                Local.Validate();
                break;
            case StorageProvider.S3:
                S3.Validate(requireBucket: true);
                break;
        }

        return provider;
    }
}

public sealed class LocalStorageOptions
{
    private const string Path = $"{StorageOptions.SectionName}:{nameof(StorageOptions.Local)}";

    /// <summary>Folder holding the blobs, relative to the content root.</summary>
    public string Root { get; set; } = "data/blobs";

    /// <summary>
    /// Absolute base URL the API is reached at, used to build signed download links
    /// (<c>{PublicBaseUrl}/files/{key}?...</c>). Empty gives root-relative links (<c>/files/{key}?...</c>),
    /// which work when the browser reaches the API and the page on the same origin.
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>
    /// Secret for signing download links (at least 32 characters). Every process that creates or checks links must
    /// use the same one. When empty, a random key is generated once and kept in <see cref="SigningKeyFile"/>.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>File holding the generated signing key when <see cref="SigningKey"/> is empty, relative to the content root.</summary>
    public string SigningKeyFile { get; set; } = "data/blob-signing.key";

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Root))
            throw new SagasConfigurationException($"{Path}:{nameof(Root)} is empty. Set it to a folder, e.g. data/blobs.");

        if (!string.IsNullOrWhiteSpace(PublicBaseUrl)
            && (!Uri.TryCreate(PublicBaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment)))
        {
            throw new SagasConfigurationException(
                $"{Path}:{nameof(PublicBaseUrl)} is '{PublicBaseUrl}', which is not an absolute http(s) URL without query. " +
                "Set it to the address browsers reach the API at, e.g. https://sagas.example.com, or leave it empty for relative links.");
        }

        if (!string.IsNullOrEmpty(SigningKey) && SigningKey.Length < 32)
        {
            throw new SagasConfigurationException(
                $"{Path}:{nameof(SigningKey)} is {SigningKey.Length} characters long; use at least 32 random characters " +
                "(e.g. `openssl rand -base64 48`), or leave it empty to have one generated in the data folder.");
        }

        if (string.IsNullOrEmpty(SigningKey) && string.IsNullOrWhiteSpace(SigningKeyFile))
            throw new SagasConfigurationException($"{Path}:{nameof(SigningKeyFile)} is empty while {Path}:{nameof(SigningKey)} is not set: one of them is needed.");
    }
}

public sealed class S3StorageOptions
{
    private const string Path = $"{StorageOptions.SectionName}:{nameof(StorageOptions.S3)}";

    /// <summary>Bucket for blobs (required when Storage:Provider is S3; the bucket must exist).</summary>
    public string? Bucket { get; set; }

    /// <summary>Optional folder inside the bucket every blob key is placed under, e.g. "sagas/".</summary>
    public string? KeyPrefix { get; set; }

    /// <summary>AWS region, e.g. eu-west-1. With <see cref="ServiceUrl"/> it is only the signing region (default us-east-1).</summary>
    public string? Region { get; set; }

    /// <summary>Endpoint of an S3-compatible service (MinIO, an emulator); empty for AWS itself.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>Path-style addressing (http://host/bucket/key); most S3-compatible services and emulators need it.</summary>
    public bool ForcePathStyle { get; set; }

    /// <summary>Static credentials; leave both empty to use the AWS default chain (environment, profile, instance role).</summary>
    public string? AccessKeyId { get; set; }

    public string? SecretAccessKey { get; set; }

    public void Validate(bool requireBucket)
    {
        if (requireBucket && string.IsNullOrWhiteSpace(Bucket))
            throw new SagasConfigurationException($"{StorageOptions.SectionName}:{nameof(StorageOptions.Provider)} is S3 but {Path}:{nameof(Bucket)} is empty. Set it to an existing bucket name.");

        if (string.IsNullOrWhiteSpace(Region) && string.IsNullOrWhiteSpace(ServiceUrl))
            throw new SagasConfigurationException($"{Path}:{nameof(Region)} is empty. Set it (e.g. eu-west-1), or set {Path}:{nameof(ServiceUrl)} for an S3-compatible service.");

        if (!string.IsNullOrWhiteSpace(ServiceUrl)
            && (!Uri.TryCreate(ServiceUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            throw new SagasConfigurationException($"{Path}:{nameof(ServiceUrl)} is '{ServiceUrl}', which is not an absolute http(s) URL.");
        }

        if (string.IsNullOrWhiteSpace(AccessKeyId) != string.IsNullOrWhiteSpace(SecretAccessKey))
            throw new SagasConfigurationException($"Set both {Path}:{nameof(AccessKeyId)} and {Path}:{nameof(SecretAccessKey)}, or neither to use the AWS default credential chain.");

        if (!string.IsNullOrEmpty(KeyPrefix))
        {
            var trimmed = KeyPrefix.TrimEnd('/');
            if (!Blobs.BlobKey.IsValid(trimmed, out var error))
                throw new SagasConfigurationException($"{Path}:{nameof(KeyPrefix)} is '{KeyPrefix}': {error}.");
        }
    }
}
