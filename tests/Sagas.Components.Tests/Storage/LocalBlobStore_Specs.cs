using System.Text;
using Sagas.Storage.Blobs;
using Sagas.Storage.Local;

namespace Sagas.Components.Tests.Storage;

public sealed class When_blobs_are_kept_in_a_local_folder : IDisposable
{
    private readonly TemporaryFolder _folder = new();
    private readonly LocalBlobStore _store;

    public When_blobs_are_kept_in_a_local_folder()
    {
        var links = new LocalBlobLinks(new byte[32], "https://sagas.example.com", TimeProvider.System);
        _store = new LocalBlobStore(Path.Combine(_folder.Path, "blobs"), links);
    }

    [Fact]
    public async Task Should_read_back_what_was_put_with_its_content_type()
    {
        await _store.PutAsync("sessions/42/report.xlsx", Bytes("workbook"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");

        await using var blob = await _store.OpenReadAsync("sessions/42/report.xlsx");

        Assert.Equal("workbook", await ReadAsync(blob.Content));
        Assert.Equal("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", blob.ContentType);
        Assert.Equal(8, blob.Length);
    }

    [Fact]
    public async Task Should_replace_a_blob_put_twice_under_one_key()
    {
        await _store.PutAsync("a/file.txt", Bytes("first version, longer"), "text/plain");
        await _store.PutAsync("a/file.txt", Bytes("second"), "text/csv");

        await using var blob = await _store.OpenReadAsync("a/file.txt");

        Assert.Equal("second", await ReadAsync(blob.Content));
        Assert.Equal("text/csv", blob.ContentType);
        Assert.Single(Directory.GetFiles(Path.Combine(_store.Root, "a")));
    }

    [Fact]
    public async Task Should_report_existence_and_delete_idempotently()
    {
        await _store.PutAsync("uploads/x.pdf", Bytes("%PDF"), "application/pdf");
        Assert.True(await _store.ExistsAsync("uploads/x.pdf"));

        await _store.DeleteAsync("uploads/x.pdf");
        await _store.DeleteAsync("uploads/x.pdf");

        Assert.False(await _store.ExistsAsync("uploads/x.pdf"));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => _store.OpenReadAsync("uploads/x.pdf"));
    }

    [Fact]
    public async Task Should_throw_not_found_for_a_blob_never_written()
    {
        var exception = await Assert.ThrowsAsync<BlobNotFoundException>(() => _store.OpenReadAsync("missing/folder/file.bin"));
        Assert.Equal("missing/folder/file.bin", exception.Key);
    }

    [Fact]
    public async Task Should_list_by_string_prefix_in_key_order_with_sizes()
    {
        await _store.PutAsync("uploads/s1/b.txt", Bytes("bb"), "text/plain");
        await _store.PutAsync("uploads/s1/a.txt", Bytes("a"), "text/plain");
        await _store.PutAsync("uploads/s1/sub/c.txt", Bytes("ccc"), "text/plain");
        await _store.PutAsync("uploads/s10/d.txt", Bytes("dddd"), "text/plain");
        await _store.PutAsync("reports/s1.xlsx", Bytes("r"), "application/octet-stream");

        var folder = await ListAsync("uploads/s1/");
        var stringPrefix = await ListAsync("uploads/s1");
        var everything = await ListAsync("");

        Assert.Equal(["uploads/s1/a.txt:1", "uploads/s1/b.txt:2", "uploads/s1/sub/c.txt:3"], folder);
        Assert.Equal(["uploads/s1/a.txt:1", "uploads/s1/b.txt:2", "uploads/s1/sub/c.txt:3", "uploads/s10/d.txt:4"], stringPrefix);
        Assert.Equal(5, everything.Count);
        Assert.DoesNotContain(everything, item => item.Contains(".meta", StringComparison.Ordinal));
        Assert.Empty(await ListAsync("nothing-here/"));
    }

    [Theory]
    [InlineData("../outside.txt")]
    [InlineData("a/../../outside.txt")]
    [InlineData("a/../b.txt")]
    [InlineData("./a.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\..\\..\\b.txt")]
    [InlineData("a//b.txt")]
    [InlineData("a/")]
    [InlineData(".meta/a.txt")]
    [InlineData("a/.hidden")]
    [InlineData("a/b\u0000.txt")]
    [InlineData("")]
    public async Task Should_refuse_keys_that_could_leave_the_root_or_reach_its_internals(string key)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _store.PutAsync(key, Bytes("x"), "text/plain"));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.OpenReadAsync(key));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.DeleteAsync(key));
        Assert.False(File.Exists(Path.Combine(_folder.Path, "outside.txt")));
    }

    [Fact]
    public async Task Should_refuse_a_prefix_that_climbs_out_of_the_root()
    {
        await Assert.ThrowsAsync<ArgumentException>(async () => await ListAsync("../"));
    }

    [Fact]
    public async Task Should_give_a_signed_link_under_the_public_base_url()
    {
        var link = await _store.GetDownloadLinkAsync("sessions/42/report.xlsx", "Scan report.xlsx");

        Assert.StartsWith("https://sagas.example.com/files/sessions/42/report.xlsx?expires=", link.AbsoluteUri, StringComparison.Ordinal);
        Assert.Contains("&name=Scan%20report.xlsx&sig=", link.AbsoluteUri, StringComparison.Ordinal);
    }

    public void Dispose() => _folder.Dispose();

    private async Task<List<string>> ListAsync(string prefix)
    {
        var items = new List<string>();
        await foreach (var item in _store.ListAsync(prefix))
            items.Add($"{item.Key}:{item.Size}");
        return items;
    }

    private static MemoryStream Bytes(string text) => new(Encoding.UTF8.GetBytes(text));

    private static async Task<string> ReadAsync(Stream stream)
    {
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
