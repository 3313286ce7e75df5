using System.Text.Json;
using Sagas.Contracts.ScanSessions;
using Sagas.ScanSessions.Consumers;
using Sagas.ScanSessions.Sources;

namespace Sagas.Components.Tests.ScanSessions;

public class When_the_dispatcher_puts_a_sessions_files_in_chunks
{
    private static readonly Guid Session = Guid.NewGuid();

    private static ScanFile File(int index, int locatorLength = 20) =>
        new(Session, index, $"f{index}.txt", ScanFileKinds.Url, "https://example.com/" + new string('a', Math.Max(0, locatorLength - 20)));

    [Fact]
    public void Should_keep_every_file_once_in_order_at_most_the_configured_number_per_chunk()
    {
        var chunks = ScanSessionDispatcher.Chunks(Session, Enumerable.Range(0, 241).Select(i => File(i)), filesPerMessage: 100).ToList();

        Assert.Equal([100, 100, 41], chunks.Select(c => c.Files.Count));
        Assert.Equal(Enumerable.Range(0, 241), chunks.SelectMany(c => c.Files).Select(f => f.FileIndex));
        Assert.All(chunks, c => Assert.Equal(Session, c.SessionId));
    }

    [Fact]
    public void Should_close_a_chunk_early_when_long_locators_would_make_the_message_too_large_for_sqs()
    {
        // Signed URLs of 2,000 characters: 100 of them would be a message of about 200 KB before escaping.
        var files = Enumerable.Range(0, 100).Select(i => File(i, locatorLength: 2_000)).ToList();
        files.Add(File(100, locatorLength: 50_000));

        var chunks = ScanSessionDispatcher.Chunks(Session, files, filesPerMessage: 100).ToList();

        Assert.Equal(files.Select(f => f.FileIndex), chunks.SelectMany(c => c.Files).Select(f => f.FileIndex));
        Assert.Single(chunks[^1].Files);
        Assert.All(chunks[..^1], c => Assert.True(JsonSerializer.SerializeToUtf8Bytes(c).Length < 100_000, "a chunk of long locators stays far below 256 KiB"));
    }

    [Fact]
    public void Should_send_nothing_for_no_files() =>
        Assert.Empty(ScanSessionDispatcher.Chunks(Session, [], filesPerMessage: 100));
}
