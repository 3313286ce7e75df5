namespace Sagas.Core.Configuration;

/// <summary>
/// Thrown while the host is being composed when configuration cannot work; <see cref="SagasHost"/> turns it into
/// a one-paragraph message and a non-zero exit code instead of a stack trace.
/// </summary>
public sealed class SagasConfigurationException(string message) : Exception(message);
