using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sagas.Api.Realtime;

namespace Sagas.Api.Tests.Realtime;

public sealed class When_one_client_reads_slower_than_events_arrive
{
    [Fact]
    public async Task Should_drop_that_client_and_keep_delivering_to_the_others()
    {
        var hub = new RealtimeHub(new RealtimeOptions { SendQueueCapacity = 8, ProgressInterval = TimeSpan.Zero }, TimeProvider.System, NullLogger<RealtimeHub>.Instance);
        var stalled = new RecordingSocket(stall: true);
        var reading = new RecordingSocket(stall: false);
        using var slow = hub.Open(stalled, new Uri("http://localhost/"));
        using var fast = hub.Open(reading, new Uri("http://localhost/"));
        var slowWriter = slow.RunWriterAsync(CancellationToken.None);
        var fastWriter = fast.RunWriterAsync(CancellationToken.None);
        hub.Subscribe("scan:x", slow);
        hub.Subscribe("scan:x", fast);

        for (var i = 1; i <= 30; i++)
        {
            // Publishing never waits on a socket: with a stalled client it still returns at once.
            hub.Publish("scan:x", new { n = i });
            await WaitUntilAsync(() => reading.SentCount == i);
        }

        Assert.True(slow.Aborted.IsCancellationRequested);
        await slowWriter.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(stalled.WasAborted);
        Assert.Equal(30, reading.SentCount);
        Assert.Equal("""{"n":30}""", reading.Last);
        Assert.False(fast.Aborted.IsCancellationRequested);
        fast.Close(WebSocketCloseStatus.NormalClosure, "done");
        await fastWriter.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, reading.CloseStatus);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
            await Task.Delay(TimeSpan.FromMilliseconds(5), deadline.Token);
    }

    private sealed class RecordingSocket(bool stall) : WebSocket
    {
        private readonly List<string> _sent = [];
        private WebSocketCloseStatus? _closeStatus;
        private WebSocketState _state = WebSocketState.Open;

        public int SentCount
        {
            get
            {
                lock (_sent)
                    return _sent.Count;
            }
        }

        public string? Last
        {
            get
            {
                lock (_sent)
                    return _sent.LastOrDefault();
            }
        }

        public bool WasAborted { get; private set; }

        public override WebSocketCloseStatus? CloseStatus => _closeStatus;

        public override string? CloseStatusDescription => null;

        public override WebSocketState State => _state;

        public override string? SubProtocol => null;

        public override void Abort()
        {
            WasAborted = true;
            _state = WebSocketState.Aborted;
        }

        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
            CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
        {
            _closeStatus = closeStatus;
            _state = WebSocketState.CloseSent;
            return Task.CompletedTask;
        }

        public override void Dispose()
        {
        }

        public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
            Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => new WebSocketReceiveResult(0, WebSocketMessageType.Close, true), TaskScheduler.Default);

        public override async Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
        {
            if (stall)
                await Task.Delay(Timeout.Infinite, cancellationToken);
            lock (_sent)
                _sent.Add(Encoding.UTF8.GetString(buffer));
        }
    }
}
