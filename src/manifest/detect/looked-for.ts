/** What detection looks for, told to the user when it finds nothing. */
export const LOOKED_FOR =
  'package.json, deno.json, requirements.txt, pyproject.toml, Pipfile, manage.py, go.mod, Gemfile, composer.json, ' +
  'Cargo.toml, pom.xml, build.gradle, *.csproj, mix.exs, gleam.toml, hugo.toml, _config.yml, mkdocs.yml, ' +
  'Dockerfile, index.html';
