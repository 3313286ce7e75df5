using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Sagas.Core.Configuration;

namespace Sagas.Storage.S3;

/// <summary>
/// One S3 client for the process, built from <c>Storage:S3</c> on first use. Shared by the S3 blob store and the scan
/// sources (files read from any bucket those credentials reach), so a Local blob store can still scan S3 prefixes.
/// </summary>
public sealed class S3ClientFactory : IDisposable
{
    private readonly S3StorageOptions _options;
    private readonly Lazy<IAmazonS3> _client;

    public S3ClientFactory(S3StorageOptions options)
    {
        _options = options;
        _client = new Lazy<IAmazonS3>(() => Create(_options), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>
    /// Presigned URLs take their scheme from the request, not from the endpoint: an http:// endpoint (a local
    /// emulator or MinIO without TLS) needs http links.
    /// </summary>
    public bool PresignWithHttp =>
        Uri.TryCreate(_options.ServiceUrl, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp;

    /// <summary>
    /// The client; throws <see cref="SagasConfigurationException"/> when <c>Storage:S3</c> cannot work (checked here,
    /// on first use, since a Local blob store leaves it unchecked at start-up).
    /// </summary>
    public IAmazonS3 GetClient() => _client.Value;

    public static IAmazonS3 Create(S3StorageOptions options)
    {
        OptionsValidation.ThrowIfInvalid(options, $"{StorageOptions.SectionName}:{nameof(StorageOptions.S3)}");
        var config = new AmazonS3Config { ForcePathStyle = options.ForcePathStyle };
        if (!string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = string.IsNullOrWhiteSpace(options.Region) ? "us-east-1" : options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        return string.IsNullOrWhiteSpace(options.AccessKeyId)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey), config);
    }

    public void Dispose()
    {
        if (_client.IsValueCreated)
            _client.Value.Dispose();
    }
}
