using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.Storage;
using Sagas.Storage.Blobs;
using Sagas.Storage.Local;
using Sagas.Storage.S3;

namespace Sagas.Components.Tests.Storage;

public sealed class When_the_blob_store_is_registered_from_configuration : IDisposable
{
    private readonly TemporaryFolder _contentRoot = new();

    [Fact]
    public async Task Should_default_to_a_local_folder_under_the_content_root()
    {
        await using var services = Build([]);

        var store = Assert.IsType<LocalBlobStore>(services.GetRequiredService<IBlobStore>());
        Assert.Equal(Path.Combine(_contentRoot.Path, "data", "blobs"), store.Root);
        Assert.NotNull(services.GetRequiredService<S3ClientFactory>());
    }

    [Fact]
    public async Task Should_generate_the_signing_key_once_and_share_it_between_processes()
    {
        await using var api = Build([]);
        await using var worker = Build([]);
        var keyFile = Path.Combine(_contentRoot.Path, "data", "blob-signing.key");

        var link = await worker.GetRequiredService<IBlobStore>().GetDownloadLinkAsync("reports/r.xlsx", "r.xlsx");
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(link.OriginalString[link.OriginalString.IndexOf('?', StringComparison.Ordinal)..]);

        Assert.True(File.Exists(keyFile));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.True(api.GetRequiredService<LocalBlobLinks>().TryValidate("reports/r.xlsx", query["expires"], query["name"], query["sig"], out var error), error);
    }

    [Fact]
    public async Task Should_use_a_configured_signing_key_and_public_base_url()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Local:SigningKey"] = new string('k', 40),
            ["Storage:Local:PublicBaseUrl"] = "https://scan.example.com/",
            ["Storage:Local:Root"] = Path.Combine(_contentRoot.Path, "elsewhere"),
        };
        await using var services = Build(settings);

        var link = await services.GetRequiredService<IBlobStore>().GetDownloadLinkAsync("a.txt", "a.txt");

        Assert.StartsWith("https://scan.example.com/files/a.txt?", link.AbsoluteUri, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_contentRoot.Path, "data", "blob-signing.key")));
        Assert.Equal(Path.Combine(_contentRoot.Path, "elsewhere"), services.GetRequiredService<LocalBlobStore>().Root);
    }

    [Fact]
    public async Task Should_choose_S3_when_configured()
    {
        await using var services = Build(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "s3",
            ["Storage:S3:Bucket"] = "reports",
            ["Storage:S3:Region"] = "eu-west-1",
        });

        var store = Assert.IsType<S3BlobStore>(services.GetRequiredService<IBlobStore>());
        Assert.Equal("reports", store.Bucket);
    }

    [Theory]
    [InlineData("Storage:Provider", "Azure", "Storage:Provider is 'Azure'")]
    [InlineData("Storage:Local:SigningKey", "short", "Storage:Local:SigningKey is 5 characters long")]
    [InlineData("Storage:Local:PublicBaseUrl", "ftp://files", "Storage:Local:PublicBaseUrl is 'ftp://files'")]
    [InlineData("Storage:Local:Root", " ", "Storage:Local:Root is empty")]
    public void Should_stop_at_start_up_on_a_bad_local_setting(string setting, string value, string expected)
    {
        var exception = Assert.Throws<SagasConfigurationException>(() => Build(new Dictionary<string, string?> { [setting] = value }));
        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "eu-west-1", null, null, "Storage:S3:Bucket is empty")]
    [InlineData("b", null, null, null, "Storage:S3:Region is empty")]
    [InlineData("b", "eu-west-1", "AKIA", null, "Set both Storage:S3:AccessKeyId and Storage:S3:SecretAccessKey")]
    public void Should_stop_at_start_up_on_a_bad_S3_setting(string? bucket, string? region, string? accessKey, string? secret, string expected)
    {
        var exception = Assert.Throws<SagasConfigurationException>(() => Build(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "S3",
            ["Storage:S3:Bucket"] = bucket,
            ["Storage:S3:Region"] = region,
            ["Storage:S3:AccessKeyId"] = accessKey,
            ["Storage:S3:SecretAccessKey"] = secret,
        }));
        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_a_corrupted_key_file()
    {
        var keyFile = Path.Combine(_contentRoot.Path, "data", "blob-signing.key");
        Directory.CreateDirectory(Path.GetDirectoryName(keyFile)!);
        File.WriteAllText(keyFile, "dG9vIHNob3J0");

        var exception = Assert.Throws<SagasConfigurationException>(() => Build([]));
        Assert.Contains(keyFile, exception.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _contentRoot.Dispose();

    private ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddSagasBlobStore(configuration, _contentRoot.Path).BuildServiceProvider();
    }
}
