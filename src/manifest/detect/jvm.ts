import { fileExists, fileIn, firstFile, readIn, type Scope } from './read.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

/** artifactId and version of the project itself (not of its <parent>), when written literally. */
export function pomCoordinates(pom: string): { artifactId?: string; version?: string } {
  const own = pom.replace(/<parent>[\s\S]*?<\/parent>/, '').replace(/<dependencies>[\s\S]*<\/dependencies>/, '').replace(/<build>[\s\S]*<\/build>/, '');
  const artifactId = /<artifactId>\s*([^<\s]+)\s*<\/artifactId>/.exec(own)?.[1];
  const version = /<version>\s*([^<\s]+)\s*<\/version>/.exec(own)?.[1];
  return { ...(artifactId ? { artifactId } : {}), ...(version && !version.includes('${') ? { version } : {}) };
}

type JvmFramework = 'Spring Boot' | 'Quarkus';

function frameworkOf(text: string): JvmFramework | undefined {
  if (/spring-boot|org\.springframework\.boot/.test(text)) return 'Spring Boot';
  if (/io\.quarkus/.test(text)) return 'Quarkus';
  return undefined;
}

/** The line of the build file that names the framework, as evidence text. */
function frameworkReason(text: string, framework: JvmFramework): string {
  if (framework === 'Quarkus') return 'Quarkus platform';
  if (/<artifactId>\s*spring-boot-starter-parent\s*</.test(text)) return 'parent spring-boot-starter-parent';
  if (/spring-boot-maven-plugin/.test(text)) return 'plugin spring-boot-maven-plugin';
  if (/org\.springframework\.boot/.test(text)) return 'plugin org.springframework.boot';
  return 'Spring Boot dependency';
}

export async function detectJvm(scope: Scope): Promise<{ service?: ServiceDraft; hint?: string } | undefined> {
  const pom = await readIn(scope, 'pom.xml');
  const gradleName = pom === undefined ? await firstFile(scope, ['build.gradle.kts', 'build.gradle']) : undefined;
  const gradle = gradleName ? await readIn(scope, gradleName) : undefined;
  const text = pom ?? gradle;
  if (text === undefined) return undefined;
  const buildFile = fileIn(scope, pom !== undefined ? 'pom.xml' : gradleName!);
  const framework = frameworkOf(text);
  if (!framework) {
    return { hint: `${buildFile} uses neither Spring Boot nor Quarkus; Maestro could not tell how to start the app` };
  }
  const maven = pom !== undefined;
  const tool = maven
    ? (await fileExists(scope, 'mvnw')) ? './mvnw' : 'mvn'
    : (await fileExists(scope, 'gradlew')) ? './gradlew' : 'gradle';
  const evidence: Evidence[] = [{ file: buildFile, reason: frameworkReason(text, framework) }];
  const managerEvidence: Evidence = { file: buildFile, reason: maven ? 'Maven build' : 'Gradle build' };
  const notes: string[] = [];
  let build: string;
  let start: string;
  let health: string | undefined;
  if (framework === 'Spring Boot') {
    if (!/spring-boot-starter-web/.test(text)) notes.push('no spring-boot-starter-web(flux) dependency: make sure the app serves HTTP');
    if (/spring-boot-starter-actuator/.test(text)) health = '/actuator/health';
    if (maven) {
      const { artifactId, version } = pomCoordinates(text);
      const jar = artifactId && version ? `target/${artifactId}-${version}.jar` : 'target/*.jar';
      build = `${tool} -B -DskipTests package`;
      start = `java -Dserver.port=$PORT -jar ${jar}`;
    } else {
      build = `${tool} bootJar`;
      // bootJar's output is the one jar in build/libs that is not the -plain one.
      start = `java -Dserver.port=$PORT -jar "$(ls build/libs/*.jar | grep -v -- '-plain.jar$' | head -n 1)"`;
    }
  } else {
    if (/quarkus-smallrye-health/.test(text)) health = '/q/health';
    build = maven ? `${tool} -B -DskipTests package` : `${tool} build -x test`;
    start = `java -Dquarkus.http.host=0.0.0.0 -Dquarkus.http.port=$PORT -jar ${maven ? 'target' : 'build'}/quarkus-app/quarkus-run.jar`;
  }
  return {
    service: {
      path: scope.dir,
      runtime: 'custom',
      framework,
      packageManager: maven ? 'maven' : 'gradle',
      packageManagerEvidence: managerEvidence,
      build,
      start,
      port: '$PORT',
      ...(health ? { health } : {}),
      evidence: [...evidence, managerEvidence],
      notes,
    },
  };
}
