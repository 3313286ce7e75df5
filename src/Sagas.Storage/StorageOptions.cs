using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.Storage;

public enum StorageProvider
{
    Local,
    S3,
}

/// <summary>Section "Storage": where uploads and reports are kept.</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string SectionName = "Storage";

    /// <summary>Local (embedded default) or S3.</summary>
    [EnumName(typeof(StorageProvider))]
    public string Provider { get; set; } = nameof(StorageProvider.Local);

    [ValidatedOnlyWhen(nameof(UsesLocal))]
    public LocalStorageOptions Local { get; set; } = new();

    [ValidatedOnlyWhen(nameof(UsesS3))]
    public S3StorageOptions S3 { get; set; } = new();

    public StorageProvider ParseProvider() => ConfiguredName.Parse<StorageProvider>(Provider, $"{SectionName}:{nameof(Provider)}");

    private bool UsesLocal => ConfiguredName.TryParse<StorageProvider>(Provider, out var provider) && provider == StorageProvider.Local;

    private bool UsesS3 => ConfiguredName.TryParse<StorageProvider>(Provider, out var provider) && provider == StorageProvider.S3;

    // Scans may read S3 whatever the provider, so a bucket is only needed when blobs are kept there.
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (UsesS3 && string.IsNullOrWhiteSpace(S3.Bucket))
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(Provider))} is S3 but {validationContext.Key(nameof(S3))}:{nameof(S3StorageOptions.Bucket)} is empty. Set it to an existing bucket name.");
        }
    }
}

public sealed class LocalStorageOptions : IValidatableObject
{
    /// <summary>Folder holding the blobs, relative to the content root.</summary>
    [Required(ErrorMessage = "{0} is empty. Set it to a folder, e.g. data/blobs.")]
    public string Root { get; set; } = "data/blobs";

    /// <summary>
    /// Absolute base URL the API is reached at, used to build signed download links
    /// (<c>{PublicBaseUrl}/files/{key}?...</c>). Empty gives root-relative links (<c>/files/{key}?...</c>),
    /// which work when the browser reaches the API and the page on the same origin.
    /// </summary>
    [HttpUrl(Optional = true, AllowQuery = false, ErrorMessage =
        "{0} is '{1}', which is not an absolute http(s) URL without query. Set it to the address browsers reach the API at, " +
        "e.g. https://sagas.example.com, or leave it empty for relative links.")]
    public string? PublicBaseUrl { get; set; }

    /// <summary>
    /// Secret for signing download links (at least 32 characters). Every process that creates or checks links must
    /// use the same one. When empty, a random key is generated once and kept in <see cref="SigningKeyFile"/>.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>File holding the generated signing key when <see cref="SigningKey"/> is empty, relative to the content root.</summary>
    public string SigningKeyFile { get; set; } = "data/blob-signing.key";

    // The signing key is a secret: its length is shown, never the key.
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(SigningKey) && SigningKey.Length < 32)
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(SigningKey))} is {SigningKey.Length} characters long; use at least 32 random characters " +
                "(e.g. `openssl rand -base64 48`), or leave it empty to have one generated in the data folder.");
        }

        if (string.IsNullOrEmpty(SigningKey) && string.IsNullOrWhiteSpace(SigningKeyFile))
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(SigningKeyFile))} is empty while {validationContext.Key(nameof(SigningKey))} is not set: one of them is needed.");
        }
    }
}

public sealed class S3StorageOptions : IValidatableObject
{
    /// <summary>Bucket for blobs (required when Storage:Provider is S3; the bucket must exist).</summary>
    public string? Bucket { get; set; }

    /// <summary>Optional folder inside the bucket every blob key is placed under, e.g. "sagas/".</summary>
    public string? KeyPrefix { get; set; }

    /// <summary>AWS region, e.g. eu-west-1. With <see cref="ServiceUrl"/> it is only the signing region (default us-east-1).</summary>
    public string? Region { get; set; }

    /// <summary>Endpoint of an S3-compatible service (MinIO, an emulator); empty for AWS itself.</summary>
    [HttpUrl(Optional = true)]
    public string? ServiceUrl { get; set; }

    /// <summary>Path-style addressing (http://host/bucket/key); most S3-compatible services and emulators need it.</summary>
    public bool ForcePathStyle { get; set; }

    /// <summary>Static credentials; leave both empty to use the AWS default chain (environment, profile, instance role).</summary>
    public string? AccessKeyId { get; set; }

    public string? SecretAccessKey { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(Region) && string.IsNullOrWhiteSpace(ServiceUrl))
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(Region))} is empty. Set it (e.g. eu-west-1), or set {validationContext.Key(nameof(ServiceUrl))} for an S3-compatible service.");
        }

        if (string.IsNullOrWhiteSpace(AccessKeyId) != string.IsNullOrWhiteSpace(SecretAccessKey))
        {
            yield return new ValidationResult(
                $"Set both {validationContext.Key(nameof(AccessKeyId))} and {validationContext.Key(nameof(SecretAccessKey))}, or neither to use the AWS default credential chain.");
        }

        if (!string.IsNullOrEmpty(KeyPrefix) && !Blobs.BlobKey.IsValid(KeyPrefix.TrimEnd('/'), out var error))
            yield return new ValidationResult($"{validationContext.Key(nameof(KeyPrefix))} is '{KeyPrefix}': {error}.");
    }
}
