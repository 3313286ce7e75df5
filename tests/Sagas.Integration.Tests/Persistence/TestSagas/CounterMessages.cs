namespace Sagas.Integration.Tests.Persistence.TestSagas;

/// <summary>Creates the counter on first sight (an initiating event), adds one afterwards.</summary>
public sealed record IncrementCounter(Guid CounterId, string Group = "default");

/// <summary>Like <see cref="IncrementCounter"/>, but the instance is inserted before the behaviour runs (InsertOnInitial).</summary>
public sealed record IncrementCounterEagerly(Guid CounterId);

public sealed record CounterIncremented(Guid CounterId, int Count);

/// <summary>A read-only event: the behaviour changes the instance, the repository must not persist it.</summary>
public sealed record PeekCounter(Guid CounterId);

public sealed record CounterPeeked(Guid CounterId, int Count);

public sealed record FinishCounter(Guid CounterId);

public sealed record NudgeOrDiscard(Guid CounterId);

public sealed record NudgeOrFault(Guid CounterId);

public sealed record NudgeOrExecute(Guid CounterId);

public sealed record CounterWasMissing(Guid CounterId);

/// <summary>Correlated by query (every counter of the group), not by id.</summary>
public sealed record ResetGroup(string Group);

public sealed record TouchUnmapped(Guid Id);

/// <summary>The behaviour throws: nothing of the attempt may persist but its fault in the history.</summary>
public sealed record ExplodeCounter(Guid CounterId);
