using Sagas.Storage.Content;

namespace Sagas.Components.Tests.Storage;

public sealed class When_content_is_read_under_a_limit
{
    [Theory]
    [InlineData(0, null)]
    [InlineData(1, null)]
    [InlineData(100, null)]
    [InlineData(100, 100L)]
    [InlineData(100, 10L)]
    [InlineData(200_000, null)]
    public async Task Should_read_everything_up_to_the_limit(int size, long? declared)
    {
        var data = Enumerable.Range(0, size).Select(i => (byte)i).ToArray();

        var (buffer, length) = await BoundedContent.ReadAsync(new TrickleStream(data), maxBytes: Math.Max(size, 1), declared, CancellationToken.None);

        Assert.Equal(data, buffer.AsSpan(0, length).ToArray());
    }

    [Theory]
    [InlineData(101, null)]
    [InlineData(101, 50L)]
    [InlineData(200_000, null)]
    public async Task Should_stop_one_byte_past_the_limit(int size, long? declared)
    {
        var stream = new TrickleStream(new byte[size]);

        await Assert.ThrowsAsync<ContentTooLargeException>(() => BoundedContent.ReadAsync(stream, 100, declared, CancellationToken.None));
        Assert.True(stream.Position <= 100 + 7, $"read {stream.Position} bytes");
    }

    [Fact]
    public async Task Should_refuse_a_declared_length_over_the_limit_without_reading()
    {
        var stream = new TrickleStream(new byte[10]);

        await Assert.ThrowsAsync<ContentTooLargeException>(() => BoundedContent.ReadAsync(stream, 100, 101, CancellationToken.None));
        Assert.Equal(0, stream.Position);
    }

    /// <summary>Hands out at most 7 bytes per read, as a slow network would.</summary>
    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 7)], cancellationToken);
    }
}
