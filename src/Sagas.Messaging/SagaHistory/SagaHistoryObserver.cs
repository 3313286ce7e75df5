using System.Runtime.CompilerServices;
using MassTransit;

namespace Sagas.Messaging.SagaHistory;

/// <summary>
/// Watches every event of one state machine and hands it to the delivery attempt's <see cref="SagaHistoryRecorder"/>
/// (a payload the EF Core repository puts on the saga's consume context). Without that payload (another repository,
/// history switched off) it records nothing.
/// </summary>
internal sealed class SagaHistoryObserver<TSaga>(SagaStateMachine<TSaga> machine) : IEventObserver<TSaga>
    where TSaga : class, SagaStateMachineInstance
{
    private static readonly ConditionalWeakTable<SagaStateMachine<TSaga>, SagaHistoryObserver<TSaga>> Connected = new();

    /// <summary>Connects the observer to <paramref name="stateMachine"/> once, however many repositories ask.</summary>
    public static void ConnectOnce(SagaStateMachine<TSaga> stateMachine)
    {
        lock (Connected)
        {
            if (Connected.TryGetValue(stateMachine, out _))
                return;
            var observer = new SagaHistoryObserver<TSaga>(stateMachine);
            stateMachine.ConnectEventObserver(observer);
            Connected.Add(stateMachine, observer);
        }
    }

    public Task PreExecute(BehaviorContext<TSaga> context) => BeginAsync(context, null);

    public Task PreExecute<T>(BehaviorContext<TSaga, T> context)
        where T : class =>
        BeginAsync(context, MessageTypeName(typeof(T)));

    public Task PostExecute(BehaviorContext<TSaga> context) => CompleteAsync(context, null);

    public Task PostExecute<T>(BehaviorContext<TSaga, T> context)
        where T : class =>
        CompleteAsync(context, context.Message is Fault fault ? Describe(fault) : null);

    public Task ExecuteFault(BehaviorContext<TSaga> context, Exception exception) => FaultAsync(context, exception);

    public Task ExecuteFault<T>(BehaviorContext<TSaga, T> context, Exception exception)
        where T : class =>
        FaultAsync(context, exception);

    private async Task BeginAsync(BehaviorContext<TSaga> context, string? messageType)
    {
        if (!context.TryGetPayload<SagaHistoryRecorder>(out var recorder))
            return;
        var before = await machine.Accessor.Get(context);
        await recorder.BeginAsync(
            typeof(TSaga).Name, context.Saga.CorrelationId, context.MessageId, context.Event.Name,
            messageType ?? MessageTypeOf(context), before?.Name, context.CancellationToken);
    }

    private async Task CompleteAsync(BehaviorContext<TSaga> context, (string, string)? fault)
    {
        if (!context.TryGetPayload<SagaHistoryRecorder>(out var recorder))
            return;
        var after = await machine.Accessor.Get(context);
        await recorder.CompleteAsync(context.Saga.CorrelationId, after?.Name, fault, context.CancellationToken);
    }

    private async Task FaultAsync(BehaviorContext<TSaga> context, Exception exception)
    {
        if (context.TryGetPayload<SagaHistoryRecorder>(out var recorder))
            await recorder.RecordFaultAsync(context.Saga.CorrelationId, exception);
    }

    private static string? MessageTypeOf(BehaviorContext<TSaga> context) =>
        context.SupportedMessageTypes.FirstOrDefault() is { } urn ? urn[(urn.LastIndexOf(':') + 1)..] : null;

    private static (string, string)? Describe(Fault fault) =>
        fault.Exceptions.FirstOrDefault() is { } info ? (ShortName(info.ExceptionType), info.Message ?? "") : null;

    private static string ShortName(string? typeName) =>
        string.IsNullOrEmpty(typeName) ? "" : typeName[(typeName.LastIndexOf('.') + 1)..];

    internal static string MessageTypeName(Type type) =>
        type.IsGenericType
            ? $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(",", type.GetGenericArguments().Select(MessageTypeName))}>"
            : type.Name;
}
