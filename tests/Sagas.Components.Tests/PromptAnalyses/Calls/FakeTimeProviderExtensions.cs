using Microsoft.Extensions.Time.Testing;

namespace Sagas.Components.Tests.PromptAnalyses.Calls;

internal static class FakeTimeProviderExtensions
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Longer than any wait the calls make (the retry policy caps a backoff at a minute): work still running after it
    /// hangs on something other than time.
    /// </summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Starts the work and completes it by moving the clock forward a millisecond at a time, so minutes of backoff and
    /// spacing take no real time. Delays are whole milliseconds, so every timer fires at exactly its due time.
    /// </summary>
    /// <remarks>
    /// The work starts on a thread-pool thread, outside the test's synchronization context: then every continuation,
    /// whether it captured a context or not, runs inline on this thread as its timer fires, and reads the time it
    /// fired at rather than a time the loop has since moved on to.
    /// </remarks>
    public static Task<T> RunAsync<T>(this FakeTimeProvider clock, Func<Task<T>> start) =>
        Task.Run(() =>
        {
            var work = start();
            for (var moved = TimeSpan.Zero; !work.IsCompleted; moved += Step)
            {
                if (moved >= Patience)
                    throw new TimeoutException($"The work did not complete within {Patience} of fake time.");
                clock.Advance(Step);
            }

            return work;
        });
}
