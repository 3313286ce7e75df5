using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Sagas.Browser.Tests.Infrastructure;
using Sagas.Contracts.Diagnostics;
using Sagas.Messaging.FailedMessages;
using Sagas.Persistence;
using static Microsoft.Playwright.Assertions;

namespace Sagas.Browser.Tests.Pages;

[Collection(DashboardCollection.Name)]
public sealed class When_a_failed_message_group_is_redelivered_from_the_system_page(DashboardFixture dashboard)
{
    [Fact]
    public async Task Should_preview_ask_for_confirmation_and_follow_the_redelivery_to_the_end()
    {
        // A queue no endpoint reads: the redelivered copies wait there, and the rows stay redelivered.
        var queue = "browser-specs-group-" + Guid.NewGuid().ToString("N")[..8];
        await SeedAsync(queue, typeof(InvalidOperationException).FullName!, "the order service was down", 3);
        await SeedAsync(queue, typeof(TimeoutException).FullName!, "the partner did not answer", 1);
        await using var browser = await dashboard.OpenAsync("#/system");
        var page = browser.Page;

        var groups = page.GetByTestId("failed-groups-table");
        var row = groups.Locator("tbody tr", new() { HasText = queue }).Filter(new() { HasText = "InvalidOperationException" });
        await Expect(row).ToContainTextAsync("3");
        await Expect(row).ToContainTextAsync("the order service was down #3");
        await Expect(groups.Locator("tbody tr", new() { HasText = queue }).Filter(new() { HasText = "TimeoutException" })).ToContainTextAsync("1");

        // "Not now" changes nothing.
        await row.GetByRole(AriaRole.Button, new() { Name = "Redeliver group…" }).ClickAsync();
        var dialog = page.GetByTestId("confirm-dialog");
        await Expect(dialog.Locator("h2")).ToHaveTextAsync("Redeliver 3 messages?");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Not now" }).ClickAsync();
        await Expect(dialog).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("bulk-progress")).ToHaveCountAsync(0);

        await row.GetByRole(AriaRole.Button, new() { Name = "Redeliver group…" }).ClickAsync();
        await Expect(dialog.Locator("h2")).ToHaveTextAsync("Redeliver 3 messages?");
        await ChromiumBrowser.ScreenshotAsync(page, "system-failed-groups-confirm");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Redeliver them" }).ClickAsync();

        var progress = page.GetByTestId("bulk-progress");
        await Expect(progress).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = 30_000 });
        await Expect(progress).ToContainTextAsync("3 of 3 messages redelivered");
        await Expect(progress).ToContainTextAsync("by local-developer");
        // Redelivered, the group is gone from the list; the other group of the same queue stays.
        await Expect(row).ToHaveCountAsync(0);
        await Expect(groups.Locator("tbody tr", new() { HasText = queue })).ToContainTextAsync("TimeoutException");
        await Expect(page.GetByTestId("failed-table").Locator("tbody tr", new() { HasText = queue }).Locator(".badge", new() { HasText = "redelivered" })).ToHaveCountAsync(3);
        await ChromiumBrowser.ScreenshotAsync(page, "system-failed-groups-progress");
        Assert.Empty(browser.ScriptErrors);
    }

    private async Task SeedAsync(string queue, string exceptionType, string message, int count)
    {
        await using var scope = dashboard.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        for (var i = 1; i <= count; i++)
        {
            var messageId = NewId.NextGuid();
            db.Add(new FailedMessage
            {
                Id = NewId.NextGuid(),
                MessageId = messageId,
                MessageTypes = MessageUrn.ForTypeString<CheckWorker>(),
                Queue = queue,
                ExceptionType = exceptionType,
                ExceptionMessage = $"{message} #{i}",
                FaultedAt = DateTimeOffset.UtcNow.AddMinutes(i - 10),
                Body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
                {
                    messageId,
                    messageType = new[] { MessageUrn.ForTypeString<CheckWorker>() },
                    message = new { correlationId = Guid.NewGuid() },
                })),
                ContentType = "application/vnd.masstransit+json",
            });
        }

        await db.SaveChangesAsync();
    }
}
