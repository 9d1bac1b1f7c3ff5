package io.outboxkit.bench;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import com.tngtech.archunit.library.dependencies.SlicesRuleDefinition;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module rules, checked on every module's compiled main classes (this module is built last; its
 * pom lists the others for build order): the samples use only outbox-core's public API, the relay
 * knows nothing of the samples, the core knows nothing of the relay, the samples, Debezium or
 * Micronaut, and no two packages depend on each other.
 */
class LayoutTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final List<String> MODULES =
      List.of(
          "outbox-core", "outbox-relay", "sample-meter-app", "sample-billing-app", "benchmarks");

  private static final String CORE_INTERNAL = "io.outboxkit.internal..";
  private static final String RELAY = "io.outboxkit.relay..";
  private static final String SAMPLES = "io.outboxkit.sample..";
  private static final String BENCH = "io.outboxkit.bench..";

  private static JavaClasses all;
  private static JavaClasses core;

  @BeforeAll
  static void importModules() {
    all = importModules(MODULES);
    core = importModules(List.of("outbox-core"));
  }

  private static JavaClasses importModules(List<String> modules) {
    List<Path> dirs = modules.stream().map(m -> ROOT.resolve(m).resolve("target/classes")).toList();
    for (Path dir : dirs) {
      // An empty import would let every rule pass: insist on the classes being there.
      assertThat(dir.resolve("io/outboxkit"))
          .as("%s: build the modules first (./mvnw verify from the root)", dir)
          .isDirectory();
    }
    return new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPaths(dirs);
  }

  @Test
  void everyModuleWasImported() {
    for (String pkg :
        List.of(
            "io.outboxkit",
            "io.outboxkit.internal",
            "io.outboxkit.consumer",
            "io.outboxkit.relay",
            "io.outboxkit.sample.meter",
            "io.outboxkit.sample.billing",
            "io.outboxkit.bench")) {
      assertThat(all.containPackage(pkg)).as(pkg).isTrue();
    }
  }

  @Test
  void samplesUseOnlyTheCoresPublicApi() {
    ArchRule rule =
        noClasses()
            .that()
            .resideInAPackage(SAMPLES)
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(CORE_INTERNAL, RELAY, BENCH)
            .because("a sample is what a user writes: outbox-core's public API only");
    rule.check(all);
  }

  @Test
  void theRelayDoesNotDependOnTheSamplesOrTheHarness() {
    noClasses()
        .that()
        .resideInAPackage(RELAY)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(SAMPLES, BENCH)
        .check(all);
  }

  @Test
  void theCoreDependsOnNeitherRelaySamplesDebeziumNorMicronaut() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(RELAY, SAMPLES, BENCH, "io.debezium..", "io.micronaut..")
        .because("outbox-core is a small library that applications embed")
        .check(core);
  }

  @Test
  void internalPackagesAreNotUsedAcrossModules() {
    noClasses()
        .that()
        .resideOutsideOfPackages(
            "io.outboxkit", "io.outboxkit.internal..", "io.outboxkit.consumer..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage(CORE_INTERNAL)
        .because("io.outboxkit.internal is outbox-core's own; it may change in any release")
        .check(all);
  }

  @Test
  void noPackageCycles() {
    SlicesRuleDefinition.slices()
        .assignedFrom(new EachPackage())
        .should()
        .beFreeOfCycles()
        .check(all);
  }

  /** Every io.outboxkit package is its own slice (the root package included). */
  private static final class EachPackage implements SliceAssignment {
    @Override
    public SliceIdentifier getIdentifierOf(JavaClass c) {
      String pkg = c.getPackageName();
      return pkg.equals("io.outboxkit") || pkg.startsWith("io.outboxkit.")
          ? SliceIdentifier.of(pkg)
          : SliceIdentifier.ignore();
    }

    @Override
    public String getDescription() {
      return "every io.outboxkit package";
    }
  }
}
