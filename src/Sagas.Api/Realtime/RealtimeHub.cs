using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Sagas.Core.Configuration;
using Sagas.Modules.Realtime;

namespace Sagas.Api.Realtime;

/// <summary>Settings of the WebSocket <c>/ws</c> (section <c>Api:Realtime</c>).</summary>
public sealed class RealtimeOptions
{
    public const string SectionName = "Api:Realtime";

    /// <summary>Largest message a client may send; bigger ones close the socket with 1009. start_scan carries a base64 file.</summary>
    [Range(1024, 512 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Messages queued for one socket; a client that falls this far behind is disconnected (it may reconnect and subscribe).</summary>
    [Range(8, 1_000_000)]
    public int SendQueueCapacity { get; set; } = 512;

    /// <summary>
    /// How many forwarded message ids (per relaying consumer) this instance remembers to drop a copy of an event it already
    /// sent (about 60 bytes each). A copy arrives seconds after the original (an outbox row published again after a crash).
    /// </summary>
    [Range(1_000, 10_000_000)]
    public int DeduplicationWindow { get; set; } = 100_000;

    /// <summary>Least time between two PROGRESS messages of one session or job on this instance; the final 100 % always goes out.</summary>
    [NotNegative]
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>
/// The sockets of this API instance and what each one follows. Events arrive from this instance's own temporary
/// bus endpoint (the workflows' realtime consumers), so every instance hears every event and delivers to its sockets.
/// Sending never waits on a client: a message goes into the socket's bounded queue or the socket is dropped.
/// </summary>
public sealed class RealtimeHub(RealtimeOptions options, TimeProvider clock, ILogger<RealtimeHub> logger) : IRealtimeHub
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<RealtimeConnection, byte>> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _lastProgress = new(StringComparer.Ordinal);

    public RealtimeConnection Open(WebSocket socket, Uri baseAddress) => new(socket, baseAddress, options.SendQueueCapacity, logger);

    public void Subscribe(string topic, RealtimeConnection connection)
    {
        _topics.GetOrAdd(topic, _ => new ConcurrentDictionary<RealtimeConnection, byte>()).TryAdd(connection, 0);
        connection.Topics.TryAdd(topic, 0);
    }

    public void Forget(RealtimeConnection connection)
    {
        foreach (var topic in connection.Topics.Keys)
        {
            if (_topics.TryGetValue(topic, out var members))
            {
                members.TryRemove(connection, out _);
                if (members.IsEmpty)
                    _topics.TryRemove(new KeyValuePair<string, ConcurrentDictionary<RealtimeConnection, byte>>(topic, members));
            }
        }
    }

    public bool HasSubscribers(string topic) => _topics.TryGetValue(topic, out var members) && !members.IsEmpty;

    /// <summary>Sends to every socket following <paramref name="topic"/>.</summary>
    public void Publish(string topic, object message)
    {
        if (!_topics.TryGetValue(topic, out var members) || members.IsEmpty)
            return;
        if (message is IRealtimeLinks)
        {
            // Rare (one per finished session): serialised per socket, each with its own address.
            foreach (var connection in members.Keys)
                connection.Send(message);
            return;
        }

        var bytes = Serialize(message);
        foreach (var connection in members.Keys)
            connection.Enqueue(bytes);
    }

    /// <summary>
    /// Progress, throttled per topic on this instance: dropped when the previous one left less than
    /// <see cref="RealtimeOptions.ProgressInterval"/> ago, unless <paramref name="final"/>.
    /// </summary>
    public void PublishProgress(string topic, object message, bool final)
    {
        if (!HasSubscribers(topic))
            return;
        var now = clock.GetTimestamp();
        var interval = (long)(options.ProgressInterval.TotalSeconds * clock.TimestampFrequency);
        while (true)
        {
            var known = _lastProgress.TryGetValue(topic, out var last);
            if (!final && known && now - last < interval)
                return;
            if (known ? _lastProgress.TryUpdate(topic, now, last) : _lastProgress.TryAdd(topic, now))
                break;
        }

        if (final)
            _lastProgress.TryRemove(topic, out _);
        Publish(topic, message);
    }

    public static byte[] Serialize(object message) => JsonSerializer.SerializeToUtf8Bytes(message, message.GetType(), Json);
}

/// <summary>One socket: a bounded queue of outgoing messages drained by a single writer, so sends never overlap.</summary>
public sealed class RealtimeConnection : IDisposable
{
    private readonly WebSocket _socket;
    private readonly Channel<byte[]> _outgoing;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _aborted = new();
    private int _closing;

    internal RealtimeConnection(WebSocket socket, Uri baseAddress, int capacity, ILogger logger)
    {
        _socket = socket;
        BaseAddress = baseAddress;
        _logger = logger;
        _outgoing = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    public ConcurrentDictionary<string, byte> Topics { get; } = new(StringComparer.Ordinal);

    public CancellationToken Aborted => _aborted.Token;

    /// <summary>The address the client connected to (scheme, host, path base), for links it receives.</summary>
    public Uri BaseAddress { get; }

    public void Send(object message) =>
        Enqueue(RealtimeHub.Serialize(message is IRealtimeLinks links ? links.WithAbsoluteLinks(BaseAddress) : message));

    internal void Enqueue(byte[] message)
    {
        if (_outgoing.Writer.TryWrite(message) || Volatile.Read(ref _closing) != 0)
            return;

        // The client reads slower than events arrive; it loses this socket, not other clients their messages.
        _logger.LogWarning("A WebSocket client fell {Capacity} messages behind and is disconnected", _outgoing.Reader.Count);
        Close(WebSocketCloseStatus.PolicyViolation, "Too slow: reconnect and subscribe again.");
    }

    /// <summary>Queues a close after the messages already queued; the writer sends it.</summary>
    public void Close(WebSocketCloseStatus status, string description)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
            return;
        _closeStatus = (status, description);
        _outgoing.Writer.TryComplete();
        if (status == WebSocketCloseStatus.PolicyViolation)
            _aborted.Cancel();
    }

    private (WebSocketCloseStatus Status, string Description)? _closeStatus;

    public void Dispose() => _aborted.Dispose();

    public async Task RunWriterAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _aborted.Token);
            while (await _outgoing.Reader.WaitToReadAsync(linked.Token))
            {
                while (_outgoing.Reader.TryRead(out var message))
                    await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, linked.Token);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // The client went away or was dropped; nothing is left to deliver.
        }

        if (_closeStatus is { } close && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(close.Status, close.Description, timeout.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or WebSocketException or ObjectDisposedException)
            {
                // Closing politely is best effort.
            }
        }

        if (_aborted.IsCancellationRequested)
            _socket.Abort();
    }
}
