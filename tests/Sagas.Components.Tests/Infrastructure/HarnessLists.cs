using MassTransit;
using MassTransit.Testing;

namespace Sagas.Components.Tests.Infrastructure;

/// <summary>
/// How specs read the test harness's message lists. MassTransit 8.5's synchronous <c>Select</c> waits for more
/// messages while holding the list's lock and, on its way out, disposes the registration of its inactivity callback
/// still holding that lock; when the harness turns inactive at that moment (the last consume ending), the callback
/// waits for the lock and the dispose waits for the callback, for ever. One CI run lost its 90 minutes to that in a
/// polling spec. So specs never let <c>Select</c> wait: <see cref="Now{T}(IReceivedMessageList, FilterDelegate{IReceivedMessage{T}}?)"/>
/// reads what is there (an already cancelled token ends the enumeration before any wait), and a spec that wants the
/// old "until the harness goes quiet" waits asynchronously first with <see cref="SettleAsync"/>.
/// </summary>
internal static class HarnessLists
{
    private static readonly CancellationToken NoWait = new(canceled: true);

    public static IEnumerable<IReceivedMessage<T>> Now<T>(this IReceivedMessageList list, FilterDelegate<IReceivedMessage<T>>? filter = null)
        where T : class =>
        [.. list.Select(filter ?? (_ => true), NoWait)];

    public static IEnumerable<IPublishedMessage<T>> Now<T>(this IPublishedMessageList list, FilterDelegate<IPublishedMessage<T>>? filter = null)
        where T : class =>
        [.. list.Select(filter ?? (_ => true), NoWait)];

    public static IEnumerable<ISentMessage<T>> Now<T>(this ISentMessageList list, FilterDelegate<ISentMessage<T>>? filter = null)
        where T : class =>
        [.. list.Select(filter ?? (_ => true), NoWait)];

    /// <summary>Until the harness sees no activity (or its test timeout passes): what the blocking Select waited for.</summary>
    public static Task SettleAsync(this ITestHarness harness) =>
        Task.WhenAny(harness.InactivityTask, Task.Delay(harness.TestTimeout));
}
