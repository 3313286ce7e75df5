using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sagas.Core.Configuration;
using Sagas.Storage.Blobs;
using Sagas.Storage.Local;
using Sagas.Storage.S3;

namespace Sagas.Storage;

public static class StorageRegistration
{
    /// <summary>
    /// Registers <see cref="IBlobStore"/> for <c>Storage:Provider</c> (Local by default, or S3), checking its settings
    /// now so a bad configuration stops the host at start-up with a <see cref="Core.Configuration.SagasConfigurationException"/>.
    /// Also registers <see cref="S3ClientFactory"/> (scan sources use it whatever the provider) and, for Local,
    /// <see cref="LocalBlobLinks"/> for the API's file endpoint.
    /// </summary>
    public static IServiceCollection AddSagasBlobStore(this IServiceCollection services, IConfiguration configuration, string contentRoot)
    {
        services.AddValidatedOptions<StorageOptions>(configuration, StorageOptions.SectionName);
        var options = configuration.ReadValidatedOptions<StorageOptions>(StorageOptions.SectionName);
        var provider = options.ParseProvider();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => new S3ClientFactory(options.S3));

        switch (provider)
        {
            case StorageProvider.S3:
                services.TryAddSingleton<IBlobStore>(sp =>
                    new S3BlobStore(sp.GetRequiredService<S3ClientFactory>(), options.S3.Bucket!, options.S3.KeyPrefix, sp.GetRequiredService<TimeProvider>()));
                break;

            default:
                var signingKey = LocalSigningKey.Resolve(options.Local, contentRoot);
                var root = Path.GetFullPath(Path.Combine(contentRoot, options.Local.Root));
                services.TryAddSingleton(sp => new LocalBlobLinks(signingKey, options.Local.PublicBaseUrl, sp.GetRequiredService<TimeProvider>()));
                services.TryAddSingleton(sp => new LocalBlobStore(root, sp.GetRequiredService<LocalBlobLinks>()));
                services.TryAddSingleton<IBlobStore>(sp => sp.GetRequiredService<LocalBlobStore>());
                break;
        }

        return services;
    }
}
