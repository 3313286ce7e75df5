using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sagas.Transports.AmazonSqs.Sns;

namespace Sagas.Transports.AmazonSqs;

/// <summary>A queue as the transport knows it once it exists.</summary>
public sealed record SqsQueue(string Name, string Url, string Arn);

/// <summary>
/// Every AWS call of one bus: the queues and topics it creates (idempotently, remembering their URLs and ARNs), and
/// sending, publishing, receiving and deleting messages. AWS errors leave as <see cref="SqsTransportException"/>s
/// naming the action and the resource, so a log line or a readiness answer says what to fix.
/// </summary>
public sealed class SqsBroker : IDisposable
{
    /// <summary>Fourteen days, SQS's longest: a message waits as long as the queue allows for its consumer to come back.</summary>
    public const int RetentionSeconds = 1_209_600;

    private const string PolicyStatementId = "sagas-sns-topics";

    private readonly AmazonSQSClient _sqs;
    private readonly SnsClient _sns;
    private readonly ConcurrentDictionary<string, Lazy<Task<SqsQueue>>> _queues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _topics = new(StringComparer.Ordinal);

    internal SqsBroker(AmazonSqsTransportOptions options, AmazonSQSClient sqs, SnsClient sns)
    {
        Options = options;
        _sqs = sqs;
        _sns = sns;
    }

    public AmazonSqsTransportOptions Options { get; }

    /// <summary>Set from the bus's logger factory once the container exists.</summary>
    public ILogger Logger { get; internal set; } = NullLogger.Instance;

    internal AmazonSQSClient Sqs => _sqs;

    public string QueueName(string logicalName) => SqsNames.Queue(Options.Prefix, logicalName);

    public string TopicName(string logicalName) => SqsNames.Topic(Options.Prefix, logicalName);

    /// <summary>The queue, created with the transport's attributes when missing; an existing one must match them.</summary>
    public Task<SqsQueue> GetQueueAsync(string logicalName, CancellationToken cancellationToken)
    {
        var name = QueueName(logicalName);
        var entry = _queues.GetOrAdd(name, n => new Lazy<Task<SqsQueue>>(() => EnsureQueueAsync(n)));
        return WaitForAsync(entry.Value, () => _queues.TryRemove(new KeyValuePair<string, Lazy<Task<SqsQueue>>>(name, entry)), cancellationToken);
    }

    /// <summary>Forgets a queue found deleted, so the next use creates it again.</summary>
    public void ForgetQueue(string logicalName) => _queues.TryRemove(QueueName(logicalName), out _);

    public Task<string> GetTopicArnAsync(string logicalName, CancellationToken cancellationToken)
    {
        var name = TopicName(logicalName);
        var entry = _topics.GetOrAdd(name, n => new Lazy<Task<string>>(() => EnsureTopicAsync(n)));
        return WaitForAsync(entry.Value, () => _topics.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(name, entry)), cancellationToken);
    }

    /// <summary>
    /// A receive endpoint's topology: its queue, one topic per consumed message type with the queue subscribed
    /// (raw delivery), and a queue policy that lets the environment's topics send to it.
    /// </summary>
    public async Task<SqsQueue> DeclareEndpointAsync(string logicalQueue, IReadOnlyCollection<string> logicalTopics, CancellationToken cancellationToken)
    {
        var queue = await GetQueueAsync(logicalQueue, cancellationToken);
        if (logicalTopics.Count == 0)
            return queue;

        await AllowTopicsAsync(queue, cancellationToken);
        foreach (var topic in logicalTopics)
        {
            var topicArn = await GetTopicArnAsync(topic, cancellationToken);
            try
            {
                await _sns.SubscribeQueueAsync(topicArn, queue.Arn, cancellationToken);
            }
            catch (AmazonServiceException exception) when (exception.ErrorCode == "InvalidParameter" && exception.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase))
            {
                throw new SqsTopologyConflictException(
                    $"Amazon SNS topic '{TopicName(topic)}' already has a subscription for queue '{queue.Name}' with other attributes than raw message " +
                    "delivery; delete that subscription so the transport can create its own.");
            }
            catch (AmazonServiceException exception)
            {
                throw SqsTransportException.Refused(exception, "SNS", "Subscribe", $"topic '{TopicName(topic)}' and queue '{queue.Name}'");
            }
        }

        return queue;
    }

    public async Task SendAsync(string logicalQueue, SqsMessage message, CancellationToken cancellationToken)
    {
        var request = new SendMessageRequest
        {
            MessageBody = message.Body,
            DelaySeconds = message.DelaySeconds,
            MessageAttributes = message.Attributes.ToDictionary(a => a.Key, a => new MessageAttributeValue { DataType = "String", StringValue = a.Value }),
        };
        await OnQueueAsync(logicalQueue, "SendMessage", queue =>
        {
            request.QueueUrl = queue.Url;
            return _sqs.SendMessageAsync(request, cancellationToken);
        }, cancellationToken);
    }

    public async Task PublishAsync(string logicalTopic, SqsMessage message, CancellationToken cancellationToken)
    {
        var topicArn = await GetTopicArnAsync(logicalTopic, cancellationToken);
        try
        {
            await _sns.PublishAsync(topicArn, message.Body, message.Attributes, cancellationToken);
        }
        catch (AmazonServiceException exception)
        {
            if (exception.ErrorCode == "NotFound")
                _topics.TryRemove(TopicName(logicalTopic), out _);
            throw SqsTransportException.Refused(exception, "SNS", "Publish", $"topic '{TopicName(logicalTopic)}'");
        }
    }

    /// <summary>Long-polls for up to <paramref name="maxMessages"/> (at most 10) messages.</summary>
    public async Task<List<Message>> ReceiveAsync(SqsQueue queue, int maxMessages, CancellationToken cancellationToken)
    {
        var request = new ReceiveMessageRequest
        {
            QueueUrl = queue.Url,
            MaxNumberOfMessages = Math.Clamp(maxMessages, 1, 10),
            WaitTimeSeconds = Options.WaitTimeSeconds,
            VisibilityTimeout = Options.VisibilityTimeoutSeconds,
            MessageAttributeNames = ["All"],
            MessageSystemAttributeNames = ["ApproximateReceiveCount"],
        };
        try
        {
            var response = await _sqs.ReceiveMessageAsync(request, cancellationToken);
            return response.Messages ?? [];
        }
        catch (QueueDoesNotExistException)
        {
            throw;
        }
        catch (AmazonServiceException exception)
        {
            throw SqsTransportException.Refused(exception, "SQS", "ReceiveMessage", $"queue '{queue.Name}'");
        }
    }

    /// <summary>Deletes up to ten messages in one call; returns the receipt handles SQS did not delete, with its reason.</summary>
    public async Task<IReadOnlyDictionary<string, string>> DeleteAsync(SqsQueue queue, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken)
    {
        var request = new DeleteMessageBatchRequest
        {
            QueueUrl = queue.Url,
            Entries = [.. receiptHandles.Select((handle, i) => new DeleteMessageBatchRequestEntry(i.ToString(CultureInfo.InvariantCulture), handle))],
        };
        try
        {
            var response = await _sqs.DeleteMessageBatchAsync(request, cancellationToken);
            return (response.Failed ?? []).ToDictionary(
                f => receiptHandles[int.Parse(f.Id, CultureInfo.InvariantCulture)],
                f => $"{f.Code}: {f.Message}");
        }
        catch (AmazonServiceException exception)
        {
            throw SqsTransportException.Refused(exception, "SQS", "DeleteMessageBatch", $"queue '{queue.Name}'");
        }
    }

    public async Task ExtendVisibilityAsync(SqsQueue queue, string receiptHandle, int seconds, CancellationToken cancellationToken)
    {
        try
        {
            await _sqs.ChangeMessageVisibilityAsync(new ChangeMessageVisibilityRequest(queue.Url, receiptHandle, seconds), cancellationToken);
        }
        catch (AmazonServiceException exception)
        {
            throw SqsTransportException.Refused(exception, "SQS", "ChangeMessageVisibility", $"queue '{queue.Name}'");
        }
    }

    /// <summary>
    /// Makes up to ten received messages visible again at once (visibility timeout 0), for a stopping endpoint that took
    /// them but will not consume them: the next consumer gets them now instead of after their visibility timeout.
    /// Returns the receipt handles SQS did not release, with its reason; those come back when their timeout ends.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> ReleaseAsync(SqsQueue queue, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken)
    {
        var request = new ChangeMessageVisibilityBatchRequest
        {
            QueueUrl = queue.Url,
            Entries = [.. receiptHandles.Select((handle, i) => new ChangeMessageVisibilityBatchRequestEntry(i.ToString(CultureInfo.InvariantCulture), handle) { VisibilityTimeout = 0 })],
        };
        try
        {
            var response = await _sqs.ChangeMessageVisibilityBatchAsync(request, cancellationToken);
            return (response.Failed ?? []).ToDictionary(
                f => receiptHandles[int.Parse(f.Id, CultureInfo.InvariantCulture)],
                f => $"{f.Code}: {f.Message}");
        }
        catch (AmazonServiceException exception)
        {
            throw SqsTransportException.Refused(exception, "SQS", "ChangeMessageVisibilityBatch", $"queue '{queue.Name}'");
        }
    }

    /// <summary>
    /// <see cref="ReleaseAsync"/> for a stopping endpoint, ten at a time: a failure is only logged, as those messages
    /// still come back, just later (when their visibility timeout ends).
    /// </summary>
    public async Task ReleaseQuietlyAsync(SqsQueue queue, IReadOnlyList<string> receiptHandles)
    {
        foreach (var batch in receiptHandles.Chunk(10))
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var failed = await ReleaseAsync(queue, batch, timeout.Token);
                if (failed.Count > 0)
                    Logger.LogWarning("Amazon SQS did not release {Count} messages of {Queue} a stopping endpoint took ({Reason}); they come back when their visibility timeout ends", failed.Count, queue.Name, failed.Values.First());
            }
            catch (Exception exception) when (exception is SqsTransportException or OperationCanceledException or HttpRequestException)
            {
                Logger.LogWarning(exception, "Could not release {Count} messages of {Queue} a stopping endpoint took; they come back when their visibility timeout ends", batch.Length, queue.Name);
            }
        }
    }

    /// <summary>Removes a queue the bus made for itself (the temporary response queue); a missing one is fine.</summary>
    public async Task DeleteQueueAsync(string logicalName, CancellationToken cancellationToken)
    {
        var name = QueueName(logicalName);
        if (!_queues.TryRemove(name, out var entry) || !entry.IsValueCreated || !entry.Value.IsCompletedSuccessfully)
            return;
        try
        {
            await _sqs.DeleteQueueAsync(new DeleteQueueRequest(entry.Value.Result.Url), cancellationToken);
        }
        catch (AmazonServiceException exception)
        {
            Logger.LogWarning("Could not delete the temporary queue {Queue} ({ErrorCode}); delete it by hand", name, SqsTransportException.Code(exception));
        }
    }

    public void Dispose()
    {
        _sqs.Dispose();
        _sns.Dispose();
    }

    private async Task<T> OnQueueAsync<T>(string logicalQueue, string action, Func<SqsQueue, Task<T>> call, CancellationToken cancellationToken)
    {
        var queue = await GetQueueAsync(logicalQueue, cancellationToken);
        try
        {
            return await call(queue);
        }
        catch (QueueDoesNotExistException)
        {
            // Deleted since it was looked up: create it again and try once more, so the message is not lost.
            Logger.LogWarning("Amazon SQS queue {Queue} no longer exists; creating it again", queue.Name);
            ForgetQueue(logicalQueue);
            queue = await GetQueueAsync(logicalQueue, cancellationToken);
            try
            {
                return await call(queue);
            }
            catch (AmazonServiceException exception)
            {
                throw SqsTransportException.Refused(exception, "SQS", action, $"queue '{queue.Name}'");
            }
        }
        catch (AmazonServiceException exception)
        {
            throw SqsTransportException.Refused(exception, "SQS", action, $"queue '{queue.Name}'");
        }
    }

    private async Task<SqsQueue> EnsureQueueAsync(string name)
    {
        var desired = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [QueueAttributeName.VisibilityTimeout] = Options.VisibilityTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
            [QueueAttributeName.MessageRetentionPeriod] = RetentionSeconds.ToString(CultureInfo.InvariantCulture),
        };
        var action = "GetQueueUrl";
        try
        {
            string url;
            try
            {
                url = (await _sqs.GetQueueUrlAsync(name)).QueueUrl;
            }
            catch (QueueDoesNotExistException)
            {
                action = "CreateQueue";
                try
                {
                    url = (await _sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = name, Attributes = desired })).QueueUrl;
                }
                catch (QueueNameExistsException)
                {
                    // Created a moment ago by another process, or with other attributes: compare below.
                    url = (await _sqs.GetQueueUrlAsync(name)).QueueUrl;
                }
            }

            action = "GetQueueAttributes";
            var attributes = (await _sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest(url, [QueueAttributeName.QueueArn, .. desired.Keys]))).Attributes ?? [];
            foreach (var (attribute, value) in desired)
            {
                if (attributes.TryGetValue(attribute, out var existing) && existing != value)
                {
                    throw new SqsTopologyConflictException(
                        $"Amazon SQS queue '{name}' exists with {attribute}={existing}, but the transport creates its queues with {attribute}={value}" +
                        (attribute == QueueAttributeName.VisibilityTimeout ? " (Messaging:AmazonSqs:VisibilityTimeoutSeconds)" : "") +
                        "; change the queue or the setting so they agree. Nothing was changed.");
                }
            }

            return new SqsQueue(name, url, attributes.TryGetValue(QueueAttributeName.QueueArn, out var arn) ? arn : throw new SqsTransportException($"Amazon SQS did not report the ARN of queue '{name}'."));
        }
        catch (AmazonServiceException exception)
        {
            throw SqsTransportException.Refused(exception, "SQS", action, $"queue '{name}'");
        }
    }

    private async Task<string> EnsureTopicAsync(string name)
    {
        try
        {
            return await _sns.CreateTopicAsync(name, CancellationToken.None);
        }
        catch (AmazonServiceException exception)
        {
            throw SqsTransportException.Refused(exception, "SNS", "CreateTopic", $"topic '{name}'");
        }
    }

    /// <summary>
    /// Adds (or refreshes) one statement in the queue's policy letting this environment's topics send to it: every topic
    /// whose name starts with the prefix, so subscribing another message type later needs no policy change. Other
    /// statements someone put there are kept.
    /// </summary>
    private async Task AllowTopicsAsync(SqsQueue queue, CancellationToken cancellationToken)
    {
        try
        {
            var current = (await _sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest(queue.Url, [QueueAttributeName.Policy]), cancellationToken)).Attributes;
            var existing = current is not null && current.TryGetValue(QueueAttributeName.Policy, out var text) && !string.IsNullOrWhiteSpace(text) ? text : null;
            var policy = QueuePolicy(queue.Arn, Options.Prefix, existing);
            if (policy != existing)
                await _sqs.SetQueueAttributesAsync(new SetQueueAttributesRequest(queue.Url, new Dictionary<string, string> { [QueueAttributeName.Policy] = policy }), cancellationToken);
        }
        catch (AmazonServiceException exception)
        {
            throw SqsTransportException.Refused(exception, "SQS", "SetQueueAttributes (Policy)", $"queue '{queue.Name}'");
        }
    }

    /// <summary>The queue policy with the transport's statement in place; other statements stay as they are.</summary>
    public static string QueuePolicy(string queueArn, string prefix, string? existingPolicy)
    {
        // arn:aws:sqs:{region}:{account}:{name} → arn:aws:sns:{region}:{account}:{prefix}*
        var parts = queueArn.Split(':');
        var topics = string.Join(':', parts[0], parts[1], "sns", parts[3], parts[4], prefix + "*");
        var statement = new JsonObject
        {
            ["Sid"] = PolicyStatementId,
            ["Effect"] = "Allow",
            ["Principal"] = new JsonObject { ["Service"] = "sns.amazonaws.com" },
            ["Action"] = "sqs:SendMessage",
            ["Resource"] = queueArn,
            ["Condition"] = new JsonObject { ["ArnLike"] = new JsonObject { ["aws:SourceArn"] = topics } },
        };

        JsonObject? document = null;
        try
        {
            document = existingPolicy is null ? null : JsonNode.Parse(existingPolicy) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            // Unreadable: replaced by ours below.
        }

        document ??= new JsonObject { ["Version"] = "2012-10-17" };
        var statements = document["Statement"] as JsonArray ?? [];
        var kept = statements.Where(s => s?["Sid"]?.GetValue<string>() != PolicyStatementId).Select(s => s?.DeepClone()).ToList();
        kept.Add(statement);
        document["Statement"] = new JsonArray([.. kept]);
        var result = document.ToJsonString();
        return existingPolicy is not null && JsonNode.DeepEquals(JsonNode.Parse(existingPolicy), JsonNode.Parse(result)) ? existingPolicy : result;
    }

    private static async Task<T> WaitForAsync<T>(Task<T> task, Func<bool> forget, CancellationToken cancellationToken)
    {
        try
        {
            return await task.WaitAsync(cancellationToken);
        }
        catch (Exception) when (task.IsFaulted)
        {
            // A failed look-up is not remembered: the next caller (a retry) asks AWS again.
            forget();
            throw;
        }
    }
}
