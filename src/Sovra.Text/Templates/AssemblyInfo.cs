using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Sovra.Text.Tests")]
